//! Test support: a real headless Chromium driven through WebDriver.
//!
//! Pages are only proven to work when a browser runs their scripts. [`Browser::start`] launches
//! `chromedriver` on a free loopback port and, through it, a headless `chromium` with the flags
//! this machine needs (no sandbox as root; no background networking, because the machine has no
//! network), then offers a small synchronous API for plain `#[test]` functions.
//!
//! ```no_run
//! # fn main() -> Result<(), storecast_browser::BrowserError> {
//! use std::time::Duration;
//! let Some(mut b) = storecast_browser::Browser::start()? else { return Ok(()) }; // not installed
//! b.goto("http://127.0.0.1:8080/")?;
//! b.wait_for("document.querySelectorAll('tr').length > 0", Duration::from_secs(10))?;
//! b.click("#refresh")?;
//! assert_eq!(b.console_errors()?, Vec::<String>::new());
//! b.screenshot(&storecast_browser::screenshot_dir().join("dashboard.png"))?;
//! # Ok(()) }
//! ```
//!
//! Console errors are read from ChromeDriver's browser log (`goog:loggingPrefs {browser: ALL}`),
//! which holds `console.error` calls, uncaught exceptions, unhandled promise rejections and failed
//! resource loads, so a page that breaks fails its test.

use fantoccini::error::CmdError;
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Width of the page viewport (and so of screenshots), in CSS pixels.
pub const VIEWPORT_WIDTH: u32 = 1280;
/// Height of the page viewport (and so of screenshots), in CSS pixels.
pub const VIEWPORT_HEIGHT: u32 = 900;

/// Page-load and script timeout of the session.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long chromedriver may take to answer `/status` after being spawned.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one session creation (Chromium launch) may take.
const SESSION_TIMEOUT: Duration = Duration::from_secs(90);
/// Attempts at starting chromedriver + Chromium before giving up.
const START_ATTEMPTS: u32 = 3;

/// Chromium flags: the product's one list ([`storecast_charts::CHROMIUM_FLAGS`]).
const CHROMIUM_FLAGS: &[&str] = storecast_charts::CHROMIUM_FLAGS;

/// Serialises browser starts within one test binary: tests run on parallel threads, and several
/// Chromium launches at once on a 2-core machine are slow enough to time out.
static START_LOCK: Mutex<()> = Mutex::new(());

/// Errors of the browser harness. Each says what was being done when it failed.
#[derive(Debug, Error)]
pub enum BrowserError {
    /// chromium or chromedriver is missing while `CI` is set (CI must run browser tests).
    #[error("browser tests cannot run: {0}")]
    NotInstalled(String),
    /// chromedriver or the Chromium session could not be started.
    #[error(
        "could not start chromedriver + headless Chromium after {attempts} attempt(s): {reason}"
    )]
    Start {
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong in each attempt.
        reason: String,
    },
    /// A WebDriver command failed.
    #[error("{action} failed: {source}")]
    Command {
        /// What was being done, e.g. "click `#save`".
        action: String,
        /// The WebDriver error.
        #[source]
        source: CmdError,
    },
    /// A page-side check failed (element missing, value refused, unexpected result).
    #[error("{action} failed: {reason}")]
    Page {
        /// What was being done.
        action: String,
        /// Why it failed.
        reason: String,
    },
    /// A condition did not become truthy in time.
    #[error("timed out after {waited:?} waiting for `{condition}`{}", last_error.as_ref().map(|e| format!(" (last evaluation error: {e})")).unwrap_or_default())]
    Timeout {
        /// The JavaScript condition.
        condition: String,
        /// How long it was polled.
        waited: Duration,
        /// The error of the last evaluation, if it failed rather than returned falsy.
        last_error: Option<String>,
    },
    /// A file-system operation failed.
    #[error("{action} failed: {source}")]
    Io {
        /// What was being done, e.g. "write screenshot /x/y.png".
        action: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> BrowserError {
    let action = action.into();
    move |source| BrowserError::Io { action, source }
}

fn cmd_err(action: impl Into<String>) -> impl FnOnce(CmdError) -> BrowserError {
    let action = action.into();
    move |source| BrowserError::Command { action, source }
}

/// A short one-line rendering of a script or selector for error messages.
fn brief(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

/// ChromeDriver's log endpoint (`POST /session/{id}/se/log`, type `browser`); reading drains it.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// A headless Chromium session driven through its own chromedriver.
///
/// Dropping it closes the session (Chromium quits) and stops chromedriver.
pub struct Browser {
    client: Option<Client>,
    driver: Option<Child>,
    port: u16,
    rt: tokio::runtime::Runtime,
    /// Holds the Chromium profiles and chromedriver logs; removed on drop.
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver_port", &self.port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

/// `CI` set to anything but empty, `0` or `false`.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The program named by `env_var`, else the first of `names` on `PATH` or in `/usr/bin`.
fn find_program(env_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A bodiless HTTP GET to chromedriver on the loopback interface; the response text.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.set_write_timeout(Some(Duration::from_secs(3)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver says `Connection: close` but keeps the socket open: read only what
    // Content-Length announces.
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
        if response_complete(&response) {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Whether `response` holds the headers and the whole body they announce.
fn response_complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let headers = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let length = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    length.is_some_and(|len| response.len() >= end + 4 + len)
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
    if tail.is_empty() {
        "chromedriver printed nothing".to_string()
    } else {
        format!("chromedriver output:\n  {tail}")
    }
}

/// Asks chromedriver to quit (it closes its browsers), then kills it if it lingers.
fn stop_driver(child: &mut Child, port: u16) {
    let _ = http_get(port, "/shutdown");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One launched chromedriver with a live session.
struct Launched {
    driver: Child,
    port: u16,
    client: Client,
}

/// Starts chromedriver on a free port, waits for `/status`, and creates a configured session.
fn launch(
    rt: &tokio::runtime::Runtime,
    chromium: &Path,
    chromedriver: &Path,
    dir: &Path,
    attempt: u32,
) -> Result<Launched, String> {
    let port = free_port().map_err(|e| format!("no free loopback port: {e}"))?;
    let log_path = dir.join(format!("chromedriver-{attempt}.log"));
    let log = File::create(&log_path).map_err(|e| format!("create {}: {e}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("clone log handle: {e}"))?;
    let mut driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", chromedriver.display()))?;

    // Wait until chromedriver answers /status with ready: true.
    let deadline = Instant::now() + DRIVER_READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!(
                "chromedriver on port {port} exited ({status}) before answering; {}",
                log_tail(&log_path)
            ));
        }
        if http_get(port, "/status").is_ok_and(|r| r.contains("\"ready\":true")) {
            break;
        }
        if Instant::now() > deadline {
            stop_driver(&mut driver, port);
            return Err(format!(
                "chromedriver on port {port} did not answer /status within {DRIVER_READY_TIMEOUT:?}; {}",
                log_tail(&log_path)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let profile = dir.join(format!("profile-{attempt}"));
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--window-size={VIEWPORT_WIDTH},{VIEWPORT_HEIGHT}"));
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let url = format!("http://127.0.0.1:{port}");

    let session = rt.block_on(async {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = tokio::time::timeout(
            SESSION_TIMEOUT,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&url),
        )
        .await
        .map_err(|_| format!("no session within {SESSION_TIMEOUT:?}"))?
        .map_err(|e| format!("session not created: {e}"))?;
        if let Err(e) = configure(&client).await {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.clone().close()).await;
            return Err(e);
        }
        Ok(client)
    });
    match session {
        Ok(client) => Ok(Launched {
            driver,
            port,
            client,
        }),
        Err(e) => {
            stop_driver(&mut driver, port);
            Err(format!("{e}; {}", log_tail(&log_path)))
        }
    }
}

/// Timeouts, and a window sized so the page viewport is exactly 1280×900.
async fn configure(client: &Client) -> Result<(), String> {
    client
        .update_timeouts(TimeoutConfiguration::new(
            Some(PAGE_LOAD_TIMEOUT),
            Some(PAGE_LOAD_TIMEOUT),
            Some(Duration::ZERO),
        ))
        .await
        .map_err(|e| format!("set timeouts: {e}"))?;
    resize(client, VIEWPORT_WIDTH, VIEWPORT_HEIGHT).await
}

/// Sets the viewport (the page's inner size) to `width` × `height` CSS pixels.
async fn resize(client: &Client, width: u32, height: u32) -> Result<(), String> {
    client
        .set_window_size(width, height)
        .await
        .map_err(|e| format!("set window size: {e}"))?;
    // Headless Chromium still reserves room for (invisible) browser UI: grow the window by it.
    let frame = client
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            Vec::new(),
        )
        .await
        .map_err(|e| format!("measure window frame: {e}"))?;
    let extra = |i: usize| {
        frame[i]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    };
    let (dw, dh) = (extra(0), extra(1));
    if dw > 0 || dh > 0 {
        client
            .set_window_size(width + dw, height + dh)
            .await
            .map_err(|e| format!("resize window: {e}"))?;
    }
    Ok(())
}

/// Without the programs: `Ok` after printing `SKIPPED: ...`, or an error under CI.
fn skip_or_fail(missing: &[&str], ci: bool) -> Result<(), BrowserError> {
    let reason = format!(
        "{} not installed (Debian packages `chromium` and `chromium-driver`; the project's bootstrap script installs them)",
        missing.join(" and ")
    );
    if ci {
        return Err(BrowserError::NotInstalled(format!(
            "{reason}; CI (the CI variable is set) must run browser tests"
        )));
    }
    println!("SKIPPED: {reason}");
    Ok(())
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session
    /// (viewport 1280×900, page-load and script timeouts 30 s, fresh temporary profile).
    ///
    /// Returns `Ok(None)`, after printing `SKIPPED: <reason>`, when chromium or chromedriver is
    /// not installed, unless the `CI` environment variable is set: CI must run browser tests, so
    /// there it is [`BrowserError::NotInstalled`]. Programs are found on `PATH` (`chromium`,
    /// `chromium-browser`, `google-chrome`; `chromedriver`) or named by `STORECAST_CHROMIUM` /
    /// `STORECAST_CHROMEDRIVER`.
    ///
    /// Starts are serialised within a process, and a failed start is retried (new port, new
    /// profile) up to three times.
    pub fn start() -> Result<Option<Browser>, BrowserError> {
        let chromium = find_program(
            "STORECAST_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let chromedriver = find_program("STORECAST_CHROMEDRIVER", &["chromedriver"]);
        let (chromium, chromedriver) = match (chromium, chromedriver) {
            (Some(c), Some(d)) => (c, d),
            (c, d) => {
                let mut missing = Vec::new();
                if c.is_none() {
                    missing.push("chromium");
                }
                if d.is_none() {
                    missing.push("chromedriver");
                }
                return skip_or_fail(&missing, is_ci()).map(|()| None);
            }
        };

        let _serial = START_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let start_failed = |reason: String| BrowserError::Start {
            attempts: 0,
            reason,
        };
        let dir = tempfile::Builder::new()
            .prefix("storecast-browser-")
            .tempdir()
            .map_err(|e| start_failed(format!("cannot create a temporary directory: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| start_failed(format!("cannot build a tokio runtime: {e}")))?;

        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            match launch(&rt, &chromium, &chromedriver, dir.path(), attempt) {
                Ok(l) => {
                    return Ok(Some(Browser {
                        client: Some(l.client),
                        driver: Some(l.driver),
                        port: l.port,
                        rt,
                        dir,
                    }))
                }
                Err(e) => {
                    failures.push(format!("attempt {attempt}: {e}"));
                    if attempt < START_ATTEMPTS {
                        std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
                    }
                }
            }
        }
        Err(BrowserError::Start {
            attempts: START_ATTEMPTS,
            reason: failures.join("\n"),
        })
    }

    fn client(&self) -> Result<&Client, BrowserError> {
        self.client.as_ref().ok_or_else(|| BrowserError::Page {
            action: "use the browser".into(),
            reason: "the session is closed".into(),
        })
    }

    /// Sets the viewport to `width` × `height` CSS pixels (the default is
    /// [`VIEWPORT_WIDTH`] × [`VIEWPORT_HEIGHT`]), e.g. a desktop at 1400 × 900 or a tablet
    /// at 820 × 1180.
    pub fn set_viewport(&mut self, width: u32, height: u32) -> Result<(), BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(resize(client, width, height))
            .map_err(|reason| BrowserError::Page {
                action: format!("set the viewport to {width}×{height}"),
                reason,
            })
    }

    /// Navigates to `url` and waits for its load event (at most 30 s).
    pub fn goto(&mut self, url: &str) -> Result<(), BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(client.goto(url))
            .map_err(cmd_err(format!("goto {url}")))
    }

    /// Opens a local file through a `file://` URL.
    pub fn open_file(&mut self, path: &Path) -> Result<(), BrowserError> {
        let abs =
            std::fs::canonicalize(path).map_err(io_err(format!("open {}", path.display())))?;
        let url = url::Url::from_file_path(&abs).map_err(|()| BrowserError::Page {
            action: format!("open {}", abs.display()),
            reason: "cannot turn the path into a file:// URL".into(),
        })?;
        self.goto(url.as_str())
    }

    /// Runs `js` as the body of a function (use `return` for a value) and returns its value.
    /// A returned promise is awaited.
    pub fn eval(&mut self, js: &str) -> Result<Value, BrowserError> {
        self.eval_with(js, Vec::new())
    }

    fn eval_with(&mut self, js: &str, args: Vec<Value>) -> Result<Value, BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(client.execute(js, args))
            .map_err(cmd_err(format!("script `{}`", brief(js))))
    }

    /// Polls the JavaScript `js_condition` every 100 ms until it is truthy. It is an expression
    /// (`document.title === "x"`), or a function body when it starts with `return`.
    pub fn wait_for(&mut self, js_condition: &str, timeout: Duration) -> Result<(), BrowserError> {
        let body = if js_condition.trim_start().starts_with("return") {
            format!("return !!(function () {{ {js_condition} \n}}).call(this);")
        } else {
            format!("return !!({js_condition}\n);")
        };
        let start = Instant::now();
        loop {
            let last_error = match self.eval(&body) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if start.elapsed() >= timeout {
                return Err(BrowserError::Timeout {
                    condition: js_condition.to_string(),
                    waited: start.elapsed(),
                    last_error,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks (as a user would: scrolled into view, must be visible) the first element
    /// matching `css`.
    pub fn click(&mut self, css: &str) -> Result<(), BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(async { client.find(Locator::Css(css)).await?.click().await })
            .map_err(cmd_err(format!("click `{css}`")))
    }

    /// Presses and releases `key` on the keyboard, as a user would, into whatever has the
    /// focus (`'\u{E004}'` is Tab, `'\u{E007}'` Enter; see WebDriver's key codes).
    pub fn press(&mut self, key: char) -> Result<(), BrowserError> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let client = self.client()?;
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.rt
            .block_on(client.perform_actions(keys))
            .map_err(cmd_err(format!("press key U+{:04X}", u32::from(key))))
    }

    /// Rendered text of the first element matching `css` (empty when it is hidden).
    pub fn text(&mut self, css: &str) -> Result<String, BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(async { client.find(Locator::Css(css)).await?.text().await })
            .map_err(cmd_err(format!("read text of `{css}`")))
    }

    /// Number of elements matching `css`.
    pub fn count(&mut self, css: &str) -> Result<usize, BrowserError> {
        let client = self.client()?;
        self.rt
            .block_on(client.find_all(Locator::Css(css)))
            .map(|found| found.len())
            .map_err(cmd_err(format!("count `{css}`")))
    }

    /// Sets the value of the input, textarea or select matching `css` and fires `input` and
    /// `change` events. For a select, `value` is an option's value or, failing that, its text.
    /// Fails when the element is missing or disabled, the option does not exist, or the input
    /// refuses the value (e.g. letters in a number input).
    pub fn set_value(&mut self, css: &str, value: &str) -> Result<(), BrowserError> {
        const SET_VALUE: &str = r#"
            const [css, value] = arguments;
            const el = document.querySelector(css);
            if (!el) return "no element matches";
            if (el.disabled) return "the element is disabled";
            if (el instanceof HTMLSelectElement) {
                const options = Array.from(el.options);
                const option = options.find(o => o.value === value)
                    || options.find(o => o.text.trim() === value);
                if (!option) {
                    return "no option with value or text " + JSON.stringify(value)
                        + " (options: " + options.map(o => JSON.stringify(o.value)).join(", ") + ")";
                }
                el.value = option.value;
            } else if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
                el.focus();
                const proto = Object.getPrototypeOf(el);
                const setter = Object.getOwnPropertyDescriptor(proto, "value").set;
                setter.call(el, value);
                if (value !== "" && el.value === "") return "the input refused the value";
            } else {
                return "<" + el.tagName.toLowerCase() + "> has no value to set";
            }
            el.dispatchEvent(new Event("input", { bubbles: true }));
            el.dispatchEvent(new Event("change", { bubbles: true }));
            return null;
        "#;
        let outcome = self.eval_with(SET_VALUE, vec![json!(css), json!(value)])?;
        match outcome {
            Value::Null => Ok(()),
            other => Err(BrowserError::Page {
                action: format!("set `{css}` to {value:?}"),
                reason: other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string),
            }),
        }
    }

    /// Saves a PNG screenshot of the viewport to `path`, creating its parent directories.
    pub fn screenshot(&mut self, path: &Path) -> Result<(), BrowserError> {
        let client = self.client()?;
        let png = self
            .rt
            .block_on(client.screenshot())
            .map_err(cmd_err("take a screenshot"))?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(io_err(format!("create directory {}", parent.display())))?;
        }
        std::fs::write(path, png).map_err(io_err(format!("write screenshot {}", path.display())))
    }

    /// Console messages at level SEVERE since the last call: `console.error(...)`, uncaught
    /// exceptions (`Uncaught TypeError: ...`), unhandled promise rejections and failed resource
    /// loads, each as Chromium words it (source URL, line:column, text). The automatic
    /// `/favicon.ico` request's failure is left out: the page did not ask for it.
    ///
    /// Read from ChromeDriver's browser log, which reading empties; messages of earlier pages
    /// not yet read are included.
    pub fn console_errors(&mut self) -> Result<Vec<String>, BrowserError> {
        let client = self.client()?;
        let log = self
            .rt
            .block_on(client.issue_cmd(BrowserLog))
            .map_err(cmd_err("read the browser console log"))?;
        let entries = log.as_array().ok_or_else(|| BrowserError::Page {
            action: "read the browser console log".into(),
            reason: format!("chromedriver returned {log} instead of a list"),
        })?;
        Ok(entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .filter_map(|e| e["message"].as_str())
            .filter(|m| !(m.contains("/favicon.ico ") && m.contains("Failed to load resource")))
            .map(str::to_string)
            .collect())
    }

    /// The current document's URL followed by every resource URL it requested (scripts, styles,
    /// images, fetches; failed ones included), from `performance.getEntriesByType("resource")`.
    ///
    /// Resource Timing covers HTTP(S) loads only: a `file://` page's own `file://` scripts and
    /// styles are not listed (its HTTP(S) requests are).
    pub fn requested_urls(&mut self) -> Result<Vec<String>, BrowserError> {
        let urls = self.eval(
            "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
        )?;
        Ok(urls
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // `timeout` needs the runtime's timer, so it is created inside the runtime.
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        if let Some(mut driver) = self.driver.take() {
            stop_driver(&mut driver, self.port);
        }
    }
}

/// `<target>/screenshots`: where browser tests save screenshots for a person to look at.
///
/// The target directory is `CARGO_TARGET_DIR` when that is an absolute path, else the directory
/// holding the running executable that has Cargo's `CACHEDIR.TAG`, else `target` under the
/// workspace root found from `CARGO_MANIFEST_DIR`.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("screenshots")
}

fn target_dir() -> PathBuf {
    let configured = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|t| !t.is_empty())
        .map(PathBuf::from);
    if let Some(t) = configured.as_ref().filter(|t| t.is_absolute()) {
        return t.clone();
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(t) = exe
            .ancestors()
            .skip(1)
            .find(|a| a.join("CACHEDIR.TAG").is_file())
        {
            return t.to_path_buf();
        }
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest
        .ancestors()
        .filter(|a| {
            std::fs::read_to_string(a.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .last()
        .unwrap_or(&manifest)
        .to_path_buf();
    root.join(configured.unwrap_or_else(|| PathBuf::from("target")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
        let word = |at: usize| {
            bytes
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        Some((word(16)?, word(20)?))
    }

    /// The error of a call that must fail.
    fn failure<T: std::fmt::Debug>(result: Result<T, BrowserError>) -> BrowserError {
        match result {
            Ok(v) => panic!("expected an error, got Ok({v:?})"),
            Err(e) => e,
        }
    }

    /// Serves the files of `dir` over HTTP on a free loopback port from a background thread
    /// (at most 200 connections; it ends with the test process). Missing files are 404s.
    fn serve(dir: PathBuf) -> std::io::Result<u16> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = [0u8; 8192];
                let n = stream.read(&mut request).unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let file = dir.join(path.trim_start_matches('/'));
                let (status, body) = match std::fs::read(&file) {
                    Ok(body) => ("200 OK", body),
                    Err(_) => ("404 Not Found", b"not found".to_vec()),
                };
                let kind = match file.extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("js") => "text/javascript",
                    _ => "text/plain",
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Ok(port)
    }

    const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

    #[test]
    fn drives_a_real_page() -> Result<(), Box<dyn std::error::Error>> {
        let started = Instant::now();
        let Some(mut b) = Browser::start()? else {
            return Ok(());
        };
        eprintln!("Browser::start() took {:?}", started.elapsed());
        let dir = tempfile::tempdir()?;

        // A page without errors.
        let clean = dir.path().join("clean.html");
        std::fs::write(
            &clean,
            "<!doctype html><title>clean</title><p id=p>fine</p>",
        )?;
        b.open_file(&clean)?;
        assert_eq!(b.console_errors()?, Vec::<String>::new());
        assert_eq!(b.eval("return 1+1")?, json!(2));
        assert_eq!(
            b.eval("return [innerWidth, innerHeight]")?,
            json!([VIEWPORT_WIDTH, VIEWPORT_HEIGHT])
        );

        // A page with a button, form controls, an external script and a console error.
        std::fs::write(
            dir.path().join("app.js"),
            r#"
            document.getElementById("go").addEventListener("click", () => {
                document.getElementById("out").textContent = "after";
            });
            document.getElementById("q").addEventListener("input", e => {
                document.getElementById("echo").textContent = "typed " + e.target.value;
            });
            document.getElementById("s").addEventListener("change", e => {
                document.getElementById("chosen").textContent = e.target.value;
            });
            console.error("boom");
            "#,
        )?;
        let page = dir.path().join("page.html");
        std::fs::write(
            &page,
            r#"<!doctype html><html><head><title>t</title></head><body>
            <button id="go">go</button><p id="out">before</p>
            <input id="q"><p id="echo"></p><input id="n" type="number">
            <select id="s"><option value="a">Alpha</option><option value="b">Beta</option></select>
            <p id="chosen"></p>
            <script src="app.js"></script></body></html>"#,
        )?;
        let port = serve(dir.path().to_path_buf())?;
        let page_url = format!("http://127.0.0.1:{port}/page.html");
        b.goto(&page_url)?;
        assert_eq!(b.text("#out")?, "before");
        b.click("#go")?;
        assert_eq!(b.text("#out")?, "after");
        assert_eq!(b.count("option")?, 2);
        assert_eq!(b.count(".nothing")?, 0);
        b.set_value("#q", "hello")?;
        assert_eq!(b.text("#echo")?, "typed hello");
        b.set_value("#s", "Beta")?;
        assert_eq!(b.text("#chosen")?, "b");
        let refused = failure(b.set_value("#s", "Gamma"));
        assert!(refused.to_string().contains("no option"), "{refused}");
        assert!(b.set_value("#n", "abc").is_err());
        assert!(b.set_value("#missing", "x").is_err());

        let errors = b.console_errors()?;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("boom"), "{errors:?}");
        assert_eq!(b.console_errors()?, Vec::<String>::new(), "reading drains");

        let urls = b.requested_urls()?;
        assert_eq!(urls.first(), Some(&page_url), "{urls:?}");
        assert!(
            urls.contains(&format!("http://127.0.0.1:{port}/app.js")),
            "{urls:?}"
        );

        // Errors say what failed.
        let missing = failure(b.click("#missing"));
        assert!(
            missing.to_string().contains("click `#missing`"),
            "{missing}"
        );
        let timeout = failure(b.wait_for("window.neverSet === true", Duration::from_millis(300)));
        assert!(
            timeout.to_string().contains("window.neverSet === true"),
            "{timeout}"
        );
        b.wait_for("document.readyState === 'complete'", Duration::from_secs(5))?;
        b.wait_for("return document.title === 't'", Duration::from_secs(5))?;

        // Screenshots are PNGs of the whole viewport.
        let shot = dir.path().join("nested/dir/shot.png");
        b.screenshot(&shot)?;
        let png = std::fs::read(&shot)?;
        assert!(png.starts_with(PNG_MAGIC), "not a PNG");
        assert_eq!(png_size(&png), Some((VIEWPORT_WIDTH, VIEWPORT_HEIGHT)));
        b.screenshot(&screenshot_dir().join("storecast-browser-selftest.png"))?;
        Ok(())
    }

    #[test]
    fn reports_uncaught_errors() -> Result<(), Box<dyn std::error::Error>> {
        let Some(mut b) = Browser::start()? else {
            return Ok(());
        };
        let dir = tempfile::tempdir()?;
        let page = dir.path().join("broken.html");
        std::fs::write(
            &page,
            r#"<!doctype html><title>broken</title>
            <button id="later" onclick="notDefinedAnywhere()">later</button>
            <script>const data = null; data.rows.length;</script>
            <script>Promise.reject(new Error("rejected on purpose"));</script>"#,
        )?;
        b.open_file(&page)?;
        b.wait_for("document.readyState === 'complete'", Duration::from_secs(5))?;
        let errors = b.console_errors()?;
        assert!(
            errors.iter().any(|e| e.contains("Uncaught TypeError")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("rejected on purpose")),
            "{errors:?}"
        );
        // An error thrown by a handler after the page loaded is reported too.
        b.click("#later")?;
        let errors = b.console_errors()?;
        assert!(
            errors.iter().any(|e| e.contains("notDefinedAnywhere")),
            "{errors:?}"
        );
        Ok(())
    }

    #[test]
    fn screenshot_dir_is_in_the_target_dir() {
        let dir = screenshot_dir();
        assert!(dir.ends_with("screenshots"), "{}", dir.display());
        let target = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        assert!(
            target.join("CACHEDIR.TAG").is_file(),
            "{}",
            target.display()
        );
    }

    #[test]
    fn http_responses_end_at_their_content_length() {
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length:5\r\n"
        ));
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length:5\r\n\r\n{}"
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a\"}"
        ));
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\n\r\nno length"));
    }

    #[test]
    fn missing_programs_skip_locally_and_fail_under_ci() {
        assert!(skip_or_fail(&["chromedriver"], false).is_ok());
        let err = failure(skip_or_fail(&["chromium", "chromedriver"], true));
        assert!(matches!(err, BrowserError::NotInstalled(_)));
        assert!(
            err.to_string()
                .contains("chromium and chromedriver not installed"),
            "{err}"
        );
    }

    #[test]
    fn brief_shortens_scripts() {
        assert_eq!(brief("return\n  1 +   1"), "return 1 + 1");
        assert_eq!(brief(&"x".repeat(100)).chars().count(), 81);
    }
}
