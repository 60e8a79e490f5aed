//! The one CSV reading loop shared by the three tables: decompression, BOM and binary checks,
//! header mapping by name, and cell parsers that turn every failure into a [`RowError`] with
//! file, line and column. Keeping it in one place is what makes error messages uniform.

use crate::error::{LoadError, RowError, RowProblem};
use crate::stream::{Guard, RawFile, Refusal, MAX_LINE_BYTES};
use chrono::NaiveDate;
use csv::{ByteRecord, ReaderBuilder};
use std::cell::Cell;
use std::io::Read;
use std::str::FromStr;

/// Columns a header may have at most: the chain's files need 8 to 10; extra columns are
/// tolerated (and reported) up to this many, beyond it the file is refused before any row is
/// read (a header of 60,000 columns took `validate` 8 to 10 s).
pub const MAX_COLUMNS: usize = 256;

/// Rejected rows of one file kept with their reasons: enough to show and fix every kind of
/// problem; the rest are counted ([`TableMeta::rows_rejected`]), so a small file that
/// decompresses to millions of bad rows cannot fill memory with errors (4.5 GB before).
pub const MAX_REJECTED_KEPT: usize = 10_000;

/// What reading one table produced besides its rows.
#[derive(Debug, Default)]
pub(crate) struct TableMeta {
    /// Data rows seen (accepted + rejected).
    pub rows_seen: usize,
    /// Rows that could not be parsed.
    pub rows_rejected: usize,
    /// The first [`MAX_REJECTED_KEPT`] of them, each with its reason.
    pub rejected: Vec<RowError>,
    /// SHA-256 of the file's decompressed bytes.
    pub sha256: String,
    /// Header columns the schema does not know (ignored, reported).
    pub extra_columns: Vec<String>,
}

/// Cells of one record, addressed by the schema's column position.
pub(crate) struct Cells<'r> {
    file: &'r str,
    names: &'static [&'static str],
    index: &'r [usize],
    record: &'r ByteRecord,
    line: u64,
    last_date: &'r Cell<Option<([u8; 10], NaiveDate)>>,
}

impl TableMeta {
    fn reject(&mut self, error: RowError) {
        self.rows_rejected += 1;
        if self.rejected.len() < MAX_REJECTED_KEPT {
            self.rejected.push(error);
        }
    }
}

impl<'r> Cells<'r> {
    /// 1-based line of this row.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn raw(&self, col: usize) -> &'r [u8] {
        // The record length was checked against the header before `Cells` is built.
        self.record.get(self.index[col]).unwrap_or_default()
    }

    pub fn error(&self, col: usize, problem: RowProblem) -> RowError {
        let raw = self.raw(col);
        let value = if raw.is_empty() {
            None
        } else {
            let text = String::from_utf8_lossy(raw);
            Some(text.chars().take(40).collect())
        };
        RowError {
            file: self.file.to_string(),
            line: self.line,
            column: Some(self.names[col].to_string()),
            column_number: Some(self.index[col] + 1),
            value,
            problem,
        }
    }

    /// The cell as trimmed text.
    pub fn text(&self, col: usize) -> Result<&'r str, RowError> {
        std::str::from_utf8(self.raw(col))
            .map(str::trim)
            .map_err(|_| self.error(col, RowProblem::NotUtf8))
    }

    /// A required whole number (`12` or `12.0`).
    pub fn int<T: FromStr + TryFrom<i64>>(&self, col: usize) -> Result<T, RowError> {
        self.opt_int(col)?
            .ok_or_else(|| self.error(col, RowProblem::Blank))
    }

    /// An optional whole number: blank is `None`.
    pub fn opt_int<T: FromStr + TryFrom<i64>>(&self, col: usize) -> Result<Option<T>, RowError> {
        let text = self.text(col)?;
        if text.is_empty() {
            return Ok(None);
        }
        if let Ok(v) = text.parse::<T>() {
            return Ok(Some(v));
        }
        // Accept integral floats such as `9.0` (pandas exports them), nothing else.
        let out_of_range = || {
            self.error(
                col,
                RowProblem::OutOfRange {
                    allowed: format!("a whole number that fits {}", short_type::<T>()),
                },
            )
        };
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && f.fract() == 0.0 => {
                T::try_from(f as i64).map(Some).map_err(|_| out_of_range())
            }
            Ok(_) => Err(self.error(col, RowProblem::NotAnInteger)),
            Err(_) => match text.parse::<i64>() {
                Ok(_) => Err(out_of_range()),
                Err(_) => Err(self.error(col, RowProblem::NotAnInteger)),
            },
        }
    }

    /// An optional real number: blank is `None`.
    pub fn opt_f64(&self, col: usize) -> Result<Option<f64>, RowError> {
        let text = self.text(col)?;
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.error(col, RowProblem::NotANumber)),
        }
    }

    /// An optional 0/1 flag (`0`, `1`, `0.0`, `1.0`): blank is `None`.
    pub fn opt_flag(&self, col: usize) -> Result<Option<bool>, RowError> {
        match self.text(col)? {
            "" => Ok(None),
            "0" | "0.0" => Ok(Some(false)),
            "1" | "1.0" => Ok(Some(true)),
            _ => Err(self.error(
                col,
                RowProblem::NotInDomain {
                    allowed: "0 or 1".into(),
                },
            )),
        }
    }

    /// A required 0/1 flag.
    pub fn flag(&self, col: usize) -> Result<bool, RowError> {
        self.opt_flag(col)?
            .ok_or_else(|| self.error(col, RowProblem::Blank))
    }

    /// A required `YYYY-MM-DD` date.
    pub fn date(&self, col: usize) -> Result<NaiveDate, RowError> {
        let raw = self.raw(col);
        if let (Ok(key), Some((last_key, last))) = (<[u8; 10]>::try_from(raw), self.last_date.get())
        {
            if key == last_key {
                return Ok(last);
            }
        }
        let text = self.text(col)?;
        if text.is_empty() {
            return Err(self.error(col, RowProblem::Blank));
        }
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| self.error(col, RowProblem::BadDate))?;
        if let Ok(key) = <[u8; 10]>::try_from(raw) {
            self.last_date.set(Some((key, date)));
        }
        Ok(date)
    }

    /// A required code parsed by `parse`, with `allowed` listed on failure.
    pub fn code<T>(
        &self,
        col: usize,
        allowed: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, RowError> {
        let text = self.text(col)?;
        if text.is_empty() {
            return Err(self.error(col, RowProblem::Blank));
        }
        parse(text).ok_or_else(|| {
            self.error(
                col,
                RowProblem::NotInDomain {
                    allowed: allowed.to_string(),
                },
            )
        })
    }
}

fn short_type<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

/// The typed error for a stream the guard stopped, or for a failed read.
fn stream_error<R>(file: &RawFile, guard: &Guard<R>, source: std::io::Error) -> LoadError {
    let name = file.name.clone();
    match guard.refusal {
        Some(Refusal::LineTooLong { line }) => LoadError::LineTooLong {
            file: name,
            line,
            limit: MAX_LINE_BYTES,
        },
        Some(Refusal::NotText { line, offset, byte }) => LoadError::NotText {
            file: name,
            line,
            offset,
            byte,
        },
        Some(Refusal::TooLarge { .. }) | None => LoadError::Io {
            file: file.path(),
            source,
        },
    }
}

/// The csv error as a load error when it is a failed or refused read (which ends the file),
/// or back as a row's syntax problem.
fn read_failure<R>(
    file: &RawFile,
    guard: &Guard<R>,
    e: csv::Error,
) -> Result<csv::Error, LoadError> {
    if !e.is_io_error() {
        return Ok(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Err(stream_error(file, guard, source)),
        _ => unreachable!("is_io_error"),
    }
}

/// The header's names, mapped to the schema's columns, checked before any row is read.
struct Header {
    len: usize,
    index: Vec<usize>,
    extra: Vec<String>,
}

fn read_header<R: Read>(
    file: &RawFile,
    reader: &mut csv::Reader<Guard<R>>,
    names: &'static [&'static str],
) -> Result<Header, LoadError> {
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let e = read_failure(file, reader.get_ref(), e)?;
            return Err(LoadError::MissingColumns {
                file: file.name.clone(),
                missing: names.join(","),
                found: e.to_string(),
            });
        }
    };
    if header.len() > MAX_COLUMNS {
        return Err(LoadError::TooManyColumns {
            file: file.name.clone(),
            found: header.len(),
            limit: MAX_COLUMNS,
            expected: names.join(","),
        });
    }
    let header_names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let mut index = Vec::with_capacity(names.len());
    let mut missing = Vec::new();
    for name in names {
        match header_names.iter().position(|h| h == name) {
            Some(i) => index.push(i),
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        // A file of nothing but blanks is "empty", not "lacks columns": read on to tell.
        let guard = reader.get_mut();
        if !guard.text_seen {
            std::io::copy(guard, &mut std::io::sink())
                .map_err(|e| stream_error(file, reader.get_ref(), e))?;
        }
        if !reader.get_ref().text_seen {
            return Err(LoadError::Empty {
                file: file.name.clone(),
                expected: names.join(","),
            });
        }
        return Err(LoadError::MissingColumns {
            file: file.name.clone(),
            missing: missing.join(","),
            found: header_names.join(","),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(header_names.len());
    for (i, h) in header_names.iter().enumerate() {
        if !seen.insert(h) {
            return Err(LoadError::DuplicateColumn {
                file: file.name.clone(),
                column: h.clone(),
                column_number: i + 1,
            });
        }
    }
    let extra = header_names
        .iter()
        .filter(|h| !names.contains(&h.as_str()))
        .cloned()
        .collect();
    Ok(Header {
        len: header.len(),
        index,
        extra,
    })
}

/// Reads `file` as a CSV table with the columns `names` (in any order), calling `row` for each
/// record as the file streams in. Rows `row` rejects are collected in [`TableMeta::rejected`],
/// never dropped silently.
pub(crate) fn read_table(
    file: &RawFile,
    names: &'static [&'static str],
    mut row: impl FnMut(&Cells<'_>) -> Result<(), RowError>,
) -> Result<TableMeta, LoadError> {
    let stream = file.open().map_err(|source| LoadError::Io {
        file: file.path(),
        source,
    })?;
    let mut reader = ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(stream);
    let header = read_header(file, &mut reader, names)?;
    let mut meta = TableMeta {
        extra_columns: header.extra,
        ..TableMeta::default()
    };
    let last_date = Cell::new(None);
    let mut record = ByteRecord::new();
    loop {
        let start = reader.position().byte();
        let line = reader.get_mut().line_at(start);
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let e = read_failure(file, reader.get_ref(), e)?;
                meta.rows_seen += 1;
                let line = e
                    .position()
                    .map_or(line, |p| reader.get_mut().line_at(p.byte()));
                meta.reject(RowError {
                    file: file.name.clone(),
                    line,
                    column: None,
                    column_number: None,
                    value: None,
                    problem: RowProblem::Syntax {
                        message: e.to_string(),
                    },
                });
                continue;
            }
        }
        meta.rows_seen += 1;
        let line = record
            .position()
            .map_or(line, |p| reader.get_mut().line_at(p.byte()));
        if record.len() != header.len {
            meta.reject(RowError {
                file: file.name.clone(),
                line,
                column: None,
                column_number: None,
                value: None,
                problem: RowProblem::FieldCount {
                    found: record.len(),
                    expected: header.len,
                },
            });
            continue;
        }
        let cells = Cells {
            file: &file.name,
            names,
            index: &header.index,
            record: &record,
            line,
            last_date: &last_date,
        };
        if let Err(e) = row(&cells) {
            meta.reject(e);
        }
    }
    if !reader.get_ref().text_seen {
        return Err(LoadError::Empty {
            file: file.name.clone(),
            expected: names.join(","),
        });
    }
    meta.sha256 = reader.get_ref().sha256();
    Ok(meta)
}
