//! The file formats of exports (the audit log, the roster), one enum for every front door: the CLI
//! parses `--format` into it, the desktop app receives it from the page (ts-rs), and every writer
//! matches it without a catch-all arm, so a format one side sends and the other does not write is
//! a compile error rather than a CSV file named `.json`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ExportFormat {
    /// Comma-separated values with a header row; cells a spreadsheet would run as formulas are
    /// written as text.
    Csv,
    /// One JSON document (an array, or `{"items": […]}`).
    Json,
    /// JSON lines: one JSON object a line.
    Jsonl,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Jsonl];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// The file name extension of an export in this format.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// `--format` as typed; anything else is `invalid_input` naming `format`.
    pub fn parse(text: &str) -> Result<ExportFormat> {
        let text = text.trim();
        ExportFormat::ALL.into_iter().find(|f| f.as_str() == text).ok_or_else(|| {
            Error::invalid(
                "format",
                format!("'{}' is not an export format; use csv, json or jsonl", crate::validate::shorten(text)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_back_what_they_print() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.as_str()).unwrap(), f);
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
        assert_eq!(ExportFormat::parse("xml").unwrap_err().field(), Some("format"));
    }
}
