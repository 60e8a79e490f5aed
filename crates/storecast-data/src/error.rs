//! Load errors. Two kinds, because they call for different reactions:
//! a [`LoadError`] means a file cannot be read as the expected table at all (missing, binary,
//! empty, wrong header); a [`RowError`] is one bad cell or row, reported with file, line and
//! column, and collected so that validation can list every one instead of stopping at the first.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// What is wrong with one row or cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowProblem {
    /// The row has a different number of fields than the header.
    FieldCount {
        /// Fields found in the row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A required cell is blank.
    Blank,
    /// Not a whole number.
    NotAnInteger,
    /// Not a number.
    NotANumber,
    /// Outside the allowed range.
    OutOfRange {
        /// The allowed range, in words.
        allowed: String,
    },
    /// Not a `YYYY-MM-DD` calendar date.
    BadDate,
    /// Not one of the allowed codes.
    NotInDomain {
        /// The allowed values.
        allowed: String,
    },
    /// The bytes are not UTF-8 text.
    NotUtf8,
    /// The CSV syntax itself is broken.
    Syntax {
        /// The parser's message.
        message: String,
    },
}

impl RowProblem {
    /// A stable identifier for the kind of problem.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FieldCount { .. } => "field_count",
            Self::Blank => "blank",
            Self::NotAnInteger => "not_an_integer",
            Self::NotANumber => "not_a_number",
            Self::OutOfRange { .. } => "out_of_range",
            Self::BadDate => "bad_date",
            Self::NotInDomain { .. } => "not_in_domain",
            Self::NotUtf8 => "not_utf8",
            Self::Syntax { .. } => "syntax",
        }
    }
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount { found, expected } => {
                write!(f, "row has {found} fields, the header has {expected}")
            }
            Self::Blank => f.write_str("value is blank but required"),
            Self::NotAnInteger => f.write_str("not a whole number"),
            Self::NotANumber => f.write_str("not a number"),
            Self::OutOfRange { allowed } => write!(f, "out of range (allowed: {allowed})"),
            Self::BadDate => f.write_str("not a YYYY-MM-DD date"),
            Self::NotInDomain { allowed } => write!(f, "not one of {allowed}"),
            Self::NotUtf8 => f.write_str("not UTF-8 text"),
            Self::Syntax { message } => write!(f, "CSV syntax error: {message}"),
        }
    }
}

/// One rejected row: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{file}: line {line}{}: {problem}{}", column_text(.column, .column_number), value_text(.value))]
pub struct RowError {
    /// File name as given to the loader (e.g. `train.csv`).
    pub file: String,
    /// 1-based line number of the row in the file.
    pub line: u64,
    /// Column name, when the problem is in one cell.
    pub column: Option<String>,
    /// 1-based column number, when the problem is in one cell.
    pub column_number: Option<usize>,
    /// The offending text (truncated to 40 characters).
    pub value: Option<String>,
    /// What is wrong.
    pub problem: RowProblem,
}

fn column_text(column: &Option<String>, number: &Option<usize>) -> String {
    match (column, number) {
        (Some(c), Some(n)) => format!(", column {n} ({c})"),
        (Some(c), None) => format!(", column {c}"),
        _ => String::new(),
    }
}

fn value_text(value: &Option<String>) -> String {
    match value {
        Some(v) => format!(" (found {v:?})"),
        None => String::new(),
    }
}

/// A file that cannot be read as the expected table.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// Path of the file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A required file is absent from the data directory.
    #[error("{dir}: no {name} (nor {name}.gz) in this data directory")]
    MissingFile {
        /// The data directory.
        dir: PathBuf,
        /// The expected file name.
        name: String,
    },
    /// The file has no header line.
    #[error("{file}: line 1: the file is empty; expected a header line with {expected}")]
    Empty {
        /// File name.
        file: String,
        /// The expected header.
        expected: String,
    },
    /// The file is not text (a binary or an undeclared compressed file).
    #[error("{file}: line {line}: not a CSV text file (byte 0x{byte:02x} at offset {offset}); binary data or a compressed file without a .gz name?")]
    NotText {
        /// File name.
        file: String,
        /// Line where the first non-text byte is.
        line: u64,
        /// Byte offset of the first non-text byte.
        offset: u64,
        /// The byte.
        byte: u8,
    },
    /// The header lacks required columns.
    #[error("{file}: line 1: header lacks required column(s) {missing}; found: {found}")]
    MissingColumns {
        /// File name.
        file: String,
        /// Missing column names, comma separated.
        missing: String,
        /// The header as found, comma separated.
        found: String,
    },
    /// A line is longer than any line of the chain's files can be.
    #[error("{file}: line {line}: longer than the {limit} bytes a line may have")]
    LineTooLong {
        /// File name.
        file: String,
        /// 1-based line number.
        line: u64,
        /// The limit ([`crate::MAX_LINE_BYTES`]).
        limit: usize,
    },
    /// The header has more columns than any of the chain's files needs.
    #[error("{file}: line 1: the header has {found} columns, more than the {limit} a storecast file may have (the file needs {expected})")]
    TooManyColumns {
        /// File name.
        file: String,
        /// Columns in the header.
        found: usize,
        /// The limit ([`crate::MAX_COLUMNS`]).
        limit: usize,
        /// The columns the file needs, comma separated.
        expected: String,
    },
    /// The header names a column twice.
    #[error("{file}: line 1, column {column_number}: column {column} appears twice in the header")]
    DuplicateColumn {
        /// File name.
        file: String,
        /// The repeated name.
        column: String,
        /// 1-based position of the second occurrence.
        column_number: usize,
    },
    /// A row could not be parsed (strict loading stops at the first one).
    #[error(transparent)]
    Row(Box<RowError>),
}

impl From<RowError> for LoadError {
    fn from(e: RowError) -> Self {
        LoadError::Row(Box::new(e))
    }
}
