import type { ErrorBody } from "../bindings/ErrorBody";

/** A refusal or failure from the Rust side, with the core's stable code. */
export class ApiError extends Error {
  readonly body: ErrorBody;

  constructor(body: ErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.body = body;
  }

  get code() {
    return this.body.code;
  }

  get field() {
    return this.body.field;
  }

  /** Which conflict, for a `conflict` (e.g. `cancelled`, `last_owner`). */
  get reason() {
    return this.body.reason;
  }

  static from(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    if (e && typeof e === "object" && "code" in e && "message" in e) {
      return new ApiError(e as ErrorBody);
    }
    return new ApiError({ code: "internal", message: typeof e === "string" ? e : String((e as Error)?.message ?? e) });
  }
}

const FIELD_LABELS: Record<string, string> = {
  email: "Email",
  emails: "Emails",
  name: "Name",
  org: "Organization name",
  password: "Password",
  role: "Role",
  when: "Access expiry",
  access_expires: "Access expiry",
  expires: "Expiry",
  valid_for: "Valid for",
  search: "Search",
  status: "Status",
  permission: "Permission",
  permissions: "Permissions",
  csv: "CSV file",
  expiring_within: "Expiring within",
  url: "Server URL",
  database: "Database",
};

/** A sentence for a person: what went wrong, with the field named when there is one. */
export function describeError(e: unknown): string {
  const err = ApiError.from(e);
  const { code, field } = err.body;
  let message = err.body.message;
  if (field && message.startsWith(field + ": ")) message = message.slice(field.length + 2);
  message = plainWords(message.replace(/^forbidden: /, ""));
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  switch (code) {
    case "invalid_input":
      return field ? `${FIELD_LABELS[field] ?? field}: ${message}` : sentence;
    case "forbidden":
      return `Not allowed: ${message}`;
    case "unauthenticated":
      return sentence;
    case "not_found":
      return `Not found: ${message}`;
    case "conflict":
      return sentence;
    case "unavailable":
      // A server being tried (the Database settings) names the field it came from.
      return field ? `${FIELD_LABELS[field] ?? field}: ${message}` : `The database is unavailable: ${message}`;
    default:
      return `Something went wrong: ${message}`;
  }
}

/** The policy's words for a refusal, said without permission names where a person needs none. */
export function plainWords(message: string): string {
  return message
    .replace(/only holders of owners\.manage may/g, "only an owner may")
    .replace(/you lack the permission ([a-z_.]+)/g, (_, p: string) => `your role here does not include ${p}`);
}
