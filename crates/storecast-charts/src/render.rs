//! One renderer for every generated document: minijinja templates shipped in the binary.
//!
//! Why this module exists: the reports (methodology, business, replay) and the statistical
//! analysis are HTML built from typed results, as the app's pages and the validation report
//! are (their own minijinja templates). Building document HTML with templates keeps the markup
//! in one language and the figures in the data: a template shows, it never computes. This module holds what every document shares: the escaping
//! (the same as [`crate::html_escape`], so text reads the same everywhere), the `bold` filter
//! (`**bold**` → `<b>`), the `numeric` test (right-aligned number cells) and the table macro.
//! Crates with documents of their own add their templates to [`environment`].

use minijinja::value::Value;
use minijinja::{Environment, Error, Output, State};

/// A template that failed to render: a programming error, reported rather than panicking.
#[derive(Debug, thiserror::Error)]
#[error("rendering {template}: {source}")]
pub struct RenderError {
    /// The template.
    pub template: String,
    /// What went wrong.
    #[source]
    pub source: Error,
}

/// The shared templates: `storecast/table.html` (the table macro) and `storecast/doc.html`
/// (a [`crate::Doc`]'s body).
const TEMPLATES: [(&str, &str); 2] = [
    (
        "storecast/table.html",
        include_str!("../templates/table.html"),
    ),
    ("storecast/doc.html", include_str!("../templates/doc.html")),
];

/// The environment every document renders in: the shared templates, filters and escaping.
pub fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_formatter(escape);
    env.add_filter("bold", |text: &str| Value::from_safe_string(bold(text)));
    env.add_test("numeric", |text: &str| numeric(text));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| RenderError {
                template: name.to_string(),
                source,
            })?;
    }
    Ok(env)
}

/// Renders `template` of `env` with `ctx`.
pub fn render(
    env: &Environment<'_>,
    template: &str,
    ctx: impl serde::Serialize,
) -> Result<String, RenderError> {
    let fail = |source| RenderError {
        template: template.to_string(),
        source,
    };
    env.get_template(template)
        .map_err(fail)?
        .render(ctx)
        .map_err(fail)
}

/// Writes values the way [`crate::html_escape`] escapes them when auto-escaping is on (HTML
/// templates); safe values and non-HTML templates as they are.
fn escape(out: &mut Output<'_>, state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    let html = !matches!(state.auto_escape(), minijinja::AutoEscape::None);
    let written = if html && !value.is_safe() {
        crate::html_escape(&text)
    } else {
        text
    };
    out.write_str(&written)
        .map_err(|e| Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// `text` escaped, with `**bold**` turned into `<b>bold</b>`.
pub fn bold(text: &str) -> String {
    let escaped = crate::html_escape(text);
    let mut out = String::new();
    let mut open = false;
    for (i, part) in escaped.split("**").enumerate() {
        if i > 0 {
            out.push_str(if open { "</b>" } else { "<b>" });
            open = !open;
        }
        out.push_str(part);
    }
    if open {
        out.push_str("</b>");
    }
    out
}

/// Whether a table cell reads as a number (signs, %, €, thousands separators, ×, < and the
/// typographic minus allowed), to right-align it.
pub fn numeric(cell: &str) -> bool {
    let t: String = cell
        .chars()
        .filter(|c| !matches!(c, '%' | '€' | ',' | '+' | ' ' | '×' | '<'))
        .map(|c| if c == '−' { '-' } else { c })
        .collect();
    !t.is_empty() && t.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_html_escape_and_right_aligns_numbers() {
        let mut env = environment().expect("the shared templates compile");
        env.add_template(
            "t.html",
            "{% from \"storecast/table.html\" import table %}{{ x }}|{{ table(h, r, caption=c) }}",
        )
        .expect("template");
        let html = render(
            &env,
            "t.html",
            minijinja::context! { x => "a/b <c> & \"d\" 'e'", h => ["k", "v"], r => [["x", "1,234 €"], ["y", "×1.003"]], c => "T" },
        )
        .expect("renders");
        assert_eq!(
            html,
            "a/b &lt;c&gt; &amp; &quot;d&quot; &#39;e&#39;|<table><caption>T</caption><tr><th>k</th><th>v</th></tr><tr><td>x</td><td class=\"num\">1,234 €</td></tr><tr><td>y</td><td class=\"num\">×1.003</td></tr></table>"
        );
        assert_eq!(bold("a **b** <c>"), "a <b>b</b> &lt;c&gt;");
        assert!(numeric("−7.7%") && numeric("+2.2%") && !numeric("store 7") && !numeric(""));
    }
}
