//! The one CSV reading loop shared by the three tables: decompression, BOM and binary checks,
//! header mapping by name, and cell parsers that turn every failure into a [`RowError`] with
//! file, line and column. Keeping it in one place is what makes error messages uniform.

use crate::error::{LoadError, RowError, RowProblem};
use chrono::NaiveDate;
use csv::{ByteRecord, ReaderBuilder};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// Bytes a data file may hold (after decompression) at most: 512 MiB, twice the history of a
/// chain of 3,000 stores over five years. Larger files, gzip bombs and endless devices are
/// refused with an error naming the limit instead of growing until memory runs out.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

fn too_large(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "the file {what} more than {} MiB, the limit for a data file",
            MAX_FILE_BYTES >> 20
        ),
    )
}

/// Reads the file at `path` whole, refusing it past [`MAX_FILE_BYTES`] (an endless device such
/// as /dev/zero included) without reading further.
pub fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large("holds"));
    }
    Ok(out)
}

/// Bytes a line may hold at most (a line of the chain's files is under 100 bytes; the
/// header with every tolerated extra column stays far below): a 200 MB line used 685 MB.
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// The first line longer than [`MAX_LINE_BYTES`], as (1-based line number, its length).
fn overlong_line(bytes: &[u8]) -> Option<(u64, usize)> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
        .map(|(i, l)| (i as u64 + 1, l.len()))
}

/// Columns a header may have at most: the chain's files need 8 to 10; extra columns are
/// tolerated (and reported) up to this many, beyond it the file is refused before any row is
/// read (a header of 60,000 columns took `validate` 8 to 10 s).
pub const MAX_COLUMNS: usize = 256;

/// Raw bytes of one input file, decompressed, with its fingerprint.
pub(crate) struct RawFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

impl RawFile {
    /// Reads a file from disk; `.gz` content (detected by its magic bytes) is decompressed.
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let io = |source| LoadError::Io {
            file: path.to_path_buf(),
            source,
        };
        let raw = read_bounded(path).map_err(io)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_bytes(name, raw).map_err(io)
    }

    /// Wraps bytes already in memory (an embedded or generated file).
    pub fn from_bytes(name: String, raw: Vec<u8>) -> Result<Self, std::io::Error> {
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(1 << 26));
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut out)?;
            if out.len() as u64 > MAX_FILE_BYTES {
                return Err(too_large("decompresses to"));
            }
            out
        } else if raw.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large("holds"));
        } else {
            raw
        };
        let sha256 = hex(&Sha256::digest(&bytes));
        Ok(Self {
            name,
            bytes,
            sha256,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What reading one table produced besides its rows.
#[derive(Debug, Default)]
pub(crate) struct TableMeta {
    /// Data rows seen (accepted + rejected).
    pub rows_seen: usize,
    /// Rows that could not be parsed, each with its reason.
    pub rejected: Vec<RowError>,
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

/// Reads `file` as a CSV table with the columns `names` (in any order), calling `row` for each
/// record. Rows `row` rejects are collected in [`TableMeta::rejected`], never dropped silently.
pub(crate) fn read_table(
    file: &RawFile,
    names: &'static [&'static str],
    mut row: impl FnMut(&Cells<'_>) -> Result<(), RowError>,
) -> Result<TableMeta, LoadError> {
    let mut bytes = file.bytes.as_slice();
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        bytes = rest;
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
        return Err(LoadError::NotText {
            file: file.name.clone(),
            line,
            offset: offset as u64,
            byte: 0,
        });
    }
    if let Some((line, len)) = overlong_line(bytes) {
        return Err(LoadError::LineTooLong {
            file: file.name.clone(),
            line,
            length: len,
            limit: MAX_LINE_BYTES,
        });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::Empty {
            file: file.name.clone(),
            expected: names.join(","),
        });
    }
    let mut reader = ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| LoadError::MissingColumns {
            file: file.name.clone(),
            missing: names.join(","),
            found: e.to_string(),
        })?
        .clone();
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
    let mut meta = TableMeta {
        extra_columns: header_names
            .iter()
            .filter(|h| !names.contains(&h.as_str()))
            .cloned()
            .collect(),
        ..TableMeta::default()
    };
    let last_date = Cell::new(None);
    let mut record = ByteRecord::new();
    // Line numbers are counted from byte offsets: the csv crate's own line counter is off by
    // one on CRLF files. `lines` is the number of '\n' before `counted_to`.
    let (mut counted_to, mut lines) = (0usize, 0u64);
    let mut line_at = |offset: u64| {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        // A record's offset may point at the '\n' left over from the previous "\r\n".
        while offset < bytes.len() && (bytes[offset] == b'\n' || bytes[offset] == b'\r') {
            offset += 1;
        }
        if offset >= counted_to {
            lines += bytes[counted_to..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = offset;
        }
        lines + 1
    };
    loop {
        let line = line_at(reader.position().byte());
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                meta.rows_seen += 1;
                meta.rejected.push(RowError {
                    file: file.name.clone(),
                    line: e.position().map_or(line, |p| line_at(p.byte())),
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
        let line = record.position().map_or(line, |p| line_at(p.byte()));
        if record.len() != header.len() {
            meta.rejected.push(RowError {
                file: file.name.clone(),
                line,
                column: None,
                column_number: None,
                value: None,
                problem: RowProblem::FieldCount {
                    found: record.len(),
                    expected: header.len(),
                },
            });
            continue;
        }
        let cells = Cells {
            file: &file.name,
            names,
            index: &index,
            record: &record,
            line,
            last_date: &last_date,
        };
        if let Err(e) = row(&cells) {
            meta.rejected.push(e);
        }
    }
    Ok(meta)
}
