//! The byte stream under the CSV parser: a data file is read once, as it is parsed, never held
//! whole in memory. On the way through, the stream is decompressed (gzip, by its magic bytes),
//! fingerprinted (SHA-256 of the decompressed bytes), stripped of a UTF-8 BOM, and bounded: it
//! stops at [`MAX_FILE_BYTES`], at a line longer than [`MAX_LINE_BYTES`] and at a NUL byte, so a
//! gzip bomb, an endless device or a binary file is refused at the limit with the line it
//! reached. It also maps the parser's byte offsets to line numbers (the csv crate's own counter
//! is off by one on CRLF files) without keeping the file.

use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bytes a data file may hold (after decompression) at most: 512 MiB, twice the history of a
/// chain of 3,000 stores over five years. Larger files, gzip bombs and endless devices are
/// refused with an error naming the limit instead of growing until memory runs out.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Bytes a line may hold at most (a line of the chain's files is under 100 bytes; the
/// header with every tolerated extra column stays far below): a 200 MB line used 685 MB.
pub const MAX_LINE_BYTES: usize = 64 << 10;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

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
/// as /dev/zero included) without reading further. For files that are kept as delivered
/// (actuals, whose bytes are fingerprinted and stored); tables are streamed instead.
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

/// Where a table's bytes come from.
enum Origin {
    /// A file on disk, read as a stream.
    Disk(PathBuf),
    /// Bytes already in memory (an embedded, generated or delivered file).
    Memory(Vec<u8>),
}

/// One input file, not yet read.
pub(crate) struct RawFile {
    /// File name (no directory), as errors name it.
    pub name: String,
    origin: Origin,
}

impl RawFile {
    /// A file on disk; nothing is read until the table is parsed.
    pub fn read(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self {
            name,
            origin: Origin::Disk(path.to_path_buf()),
        }
    }

    /// Bytes already in memory.
    pub fn from_bytes(name: String, raw: Vec<u8>) -> Self {
        Self {
            name,
            origin: Origin::Memory(raw),
        }
    }

    /// The path errors name: the file on disk, or the name of bytes in memory.
    pub fn path(&self) -> PathBuf {
        match &self.origin {
            Origin::Disk(p) => p.clone(),
            Origin::Memory(_) => PathBuf::from(&self.name),
        }
    }

    /// Stored size in bytes (compressed if the file is), to size buffers; 0 when unknown.
    pub fn size_hint(&self) -> u64 {
        match &self.origin {
            Origin::Disk(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Origin::Memory(b) => b.len() as u64,
        }
    }

    /// Opens the guarded stream of the file's (decompressed) bytes.
    pub fn open(&self) -> std::io::Result<Guard<Box<dyn Read + '_>>> {
        let raw: Box<dyn Read + '_> = match &self.origin {
            Origin::Disk(p) => Box::new(std::fs::File::open(p)?),
            Origin::Memory(b) => Box::new(b.as_slice()),
        };
        let mut buffered = BufReader::with_capacity(1 << 16, raw);
        let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read + '_> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Guard::new(inner, gzip))
    }
}

/// What the stream refused, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// More than [`MAX_FILE_BYTES`] (after decompression when `gzip`).
    TooLarge { gzip: bool },
    /// Line `line` grew past [`MAX_LINE_BYTES`].
    LineTooLong { line: u64 },
    /// A byte that no text file holds.
    NotText { line: u64, offset: u64, byte: u8 },
}

impl Refusal {
    fn error(self) -> std::io::Error {
        match self {
            Self::TooLarge { gzip: true } => too_large("decompresses to"),
            Self::TooLarge { gzip: false } => too_large("holds"),
            _ => std::io::Error::new(std::io::ErrorKind::InvalidData, "refused"),
        }
    }
}

/// The bounded, fingerprinting, line-counting reader the CSV parser reads from.
pub(crate) struct Guard<R> {
    inner: R,
    gzip: bool,
    hasher: Sha256,
    /// Decompressed bytes read from `inner` (the BOM included).
    read: u64,
    /// Whether the first bytes were checked for a BOM.
    started: bool,
    /// Bytes read ahead for the BOM check and not yet handed on.
    pending: Vec<u8>,
    /// Bytes handed to the parser (offsets the parser reports count from here).
    handed: u64,
    /// Bytes of the current line so far.
    line_len: usize,
    /// Lines ended so far.
    newlines: u64,
    /// Start of the run of '\r'/'\n' the bytes handed so far end with, if they end with one.
    run_start: Option<u64>,
    /// For each '\n' handed on and not yet counted by [`Guard::line_at`], the start of its
    /// terminator run: at most a parser buffer's worth.
    runs: VecDeque<u64>,
    /// '\n' counted by [`Guard::line_at`].
    counted: u64,
    /// Whether any byte other than whitespace went through.
    pub text_seen: bool,
    /// What stopped the stream, if anything did.
    pub refusal: Option<Refusal>,
}

impl<R: Read> Guard<R> {
    fn new(inner: R, gzip: bool) -> Self {
        Self {
            inner,
            gzip,
            hasher: Sha256::new(),
            read: 0,
            started: false,
            pending: Vec::new(),
            handed: 0,
            line_len: 0,
            newlines: 0,
            run_start: None,
            runs: VecDeque::new(),
            counted: 0,
            text_seen: false,
            refusal: None,
        }
    }

    /// The SHA-256 of every decompressed byte read (the whole file once the parser is done).
    pub fn sha256(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The 1-based line of the byte at `offset` (a record's start as the parser reports it,
    /// which may point at the '\n' left over from a "\r\n"). Offsets must not go backwards.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self.runs.front().is_some_and(|&start| start <= offset) {
            self.runs.pop_front();
            self.counted += 1;
        }
        self.counted + 1
    }

    fn refuse(&mut self, refusal: Refusal) -> std::io::Error {
        self.refusal = Some(refusal);
        refusal.error()
    }

    fn account(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.read += bytes.len() as u64;
        if self.read > MAX_FILE_BYTES {
            return Err(self.refuse(Refusal::TooLarge { gzip: self.gzip }));
        }
        Ok(())
    }

    /// The next bytes of the file, the BOM left out.
    fn pull(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            self.started = true;
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < head.len() {
                match self.inner.read(&mut head[got..])? {
                    0 => break,
                    n => got += n,
                }
            }
            self.account(&head[..got])?;
            if head[..got] != BOM {
                self.pending = head[..got].to_vec();
            }
        }
        if !self.pending.is_empty() {
            let n = self.pending.len().min(out.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        let n = self.inner.read(out)?;
        self.account(&out[..n])?;
        Ok(n)
    }

    /// Tracks lines over bytes about to be handed on; refuses a NUL byte or an overlong line.
    /// Scans with memchr: the per-byte loop cost a third of the load time of train.csv.
    fn inspect(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(i) = memchr::memchr(0, bytes) {
            let line = self.newlines + memchr::memchr_iter(b'\n', &bytes[..i]).count() as u64;
            let offset = self.handed + i as u64;
            return Err(self.refuse(Refusal::NotText {
                line: line + 1,
                offset,
                byte: 0,
            }));
        }
        if !self.text_seen {
            self.text_seen = bytes.iter().any(|b| !b.is_ascii_whitespace());
        }
        let mut line_start = 0;
        for i in memchr::memchr_iter(b'\n', bytes) {
            self.line_len += i - line_start;
            if self.line_len > MAX_LINE_BYTES {
                return Err(self.line_too_long());
            }
            let start = self.run_start_before(bytes, i);
            self.runs.push_back(start);
            self.newlines += 1;
            self.line_len = 0;
            line_start = i + 1;
        }
        self.line_len += bytes.len() - line_start;
        if self.line_len > MAX_LINE_BYTES {
            return Err(self.line_too_long());
        }
        self.run_start = match bytes.iter().rposition(|&b| b != b'\r' && b != b'\n') {
            _ if bytes.is_empty() => self.run_start,
            Some(i) if i + 1 == bytes.len() => None,
            Some(i) => Some(self.handed + i as u64 + 1),
            None => Some(self.run_start.unwrap_or(self.handed)),
        };
        self.handed += bytes.len() as u64;
        Ok(())
    }

    /// Where the run of '\r'/'\n' that the '\n' at `bytes[i]` ends starts (it may have begun
    /// in the bytes handed before).
    fn run_start_before(&self, bytes: &[u8], i: usize) -> u64 {
        match bytes[..i].iter().rposition(|&b| b != b'\r' && b != b'\n') {
            Some(j) => self.handed + j as u64 + 1,
            None => self.run_start.unwrap_or(self.handed),
        }
    }

    fn line_too_long(&mut self) -> std::io::Error {
        let line = self.newlines + 1;
        self.refuse(Refusal::LineTooLong { line })
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if let Some(refusal) = self.refusal {
            return Err(refusal.error());
        }
        let n = self.pull(out)?;
        self.inspect(&out[..n])?;
        Ok(n)
    }
}
