//! Errors as the service sends them: the CLI's `{"error":{"code","message","field"?,"reason"?}}`
//! with the HTTP status of PRODUCT.md §5. Internal errors are logged on the service's stderr and
//! answered with a sentence, so no database or file detail reaches a caller.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::replies::ErrorReply;
use gatehouse_core::{Error, ErrorBody, ErrorCode};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds, for 429 and 503: when trying again makes sense.
    retry_after: Option<u64>,
}

pub type Reply<T> = Result<T, ApiError>;

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody { code, message: message.into(), field: field.map(str::to_string), reason: None },
            retry_after: None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// No `Authorization: Bearer` header: never a default identity.
    pub fn no_token() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            None,
            "who is asking? send Authorization: Bearer TOKEN (a service-account token, or a session token from POST /v1/sessions)",
        )
    }

    /// The body is over the limit.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::InvalidInput, Some("body"), message)
    }

    /// A body that is not the JSON the route takes.
    pub fn bad_body(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(status, ErrorCode::InvalidInput, Some("body"), message)
    }

    pub fn bad_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, Some("query"), message)
    }

    /// Too many failed authentications from one address.
    pub fn too_many_failures(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::Unauthenticated,
                None,
                format!("too many failed authentications from this address; try again in {} s", retry_after.max(1)),
            )
        }
    }

    /// Over the bound on concurrent requests, or past the deadline.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, None, message)
        }
    }

    pub fn not_found_route() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, None, "no such route; see GET /openapi.json")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidInput,
            None,
            "this route does not take that method; see GET /openapi.json",
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let mut body = ErrorBody::from(&e);
        if let Error::Internal(detail) = &e {
            eprintln!("gatehouse serve: internal error: {detail}");
            body.message = "internal error; the service's log has the details".into();
        }
        ApiError { status: status_of(body.code), body, retry_after: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(ErrorReply { error: self.body })).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"gatehouse\""));
        }
        response
    }
}
