//! Rule-based data quality report for the chain's files.
//!
//! Why this crate exists: a forecast is only as trustworthy as its inputs, and a data steward
//! needs to know what is wrong, where and how bad before anyone trains on the data. Every rule
//! runs every time and reports every failure (never only the first), with a severity, a count
//! and examples pointing at file, line, store and date. The report is data (`serde`), rendered
//! as text for the terminal, JSON for machines and one self-contained HTML page for people.

pub mod render;
pub mod report;
pub mod rules;

pub use report::{Example, Finding, RuleStatus, Severity, Summary, ValidationReport};
pub use rules::{validate, RuleDef, RuleId, ValidateConfig};
