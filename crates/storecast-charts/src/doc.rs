//! A small document model for generated reports (methodology, business performance): sections
//! of paragraphs, tables, bullet lists and charts, rendered to Markdown and to self-contained
//! HTML (through the `storecast/doc.html` template of [`crate::render`]) from the same data,
//! so the two never disagree.

use crate::render::RenderError;
use crate::{html_escape, standalone_page, Chart};
use serde::Serialize;

/// A content block.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph (plain text; `**bold**` is kept in Markdown and bolded in HTML).
    Para(String),
    /// A highlighted conclusion.
    Callout(String),
    /// Bullet points.
    List(Vec<String>),
    /// A table; cells that parse as numbers are right-aligned in HTML.
    Table {
        /// Column headers.
        headers: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A chart (HTML only; Markdown gets its title).
    Chart(Chart),
}

/// A titled section.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Anchor id.
    pub id: String,
    /// Content.
    pub blocks: Vec<Block>,
}

impl Section {
    /// An empty section.
    pub fn new(id: impl Into<String>, heading: impl Into<String>) -> Self {
        Self {
            heading: heading.into(),
            id: id.into(),
            blocks: Vec::new(),
        }
    }
    /// Adds a paragraph.
    pub fn para(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Para(text.into()));
        self
    }
    /// Adds a callout.
    pub fn callout(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Callout(text.into()));
        self
    }
    /// Adds a list.
    pub fn list(mut self, items: Vec<String>) -> Self {
        self.blocks.push(Block::List(items));
        self
    }
    /// Adds a table.
    pub fn table(mut self, headers: &[&str], rows: Vec<Vec<String>>) -> Self {
        self.blocks.push(Block::Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows,
        });
        self
    }
    /// Adds a chart.
    pub fn chart(mut self, chart: Chart) -> Self {
        self.blocks.push(Block::Chart(chart));
        self
    }
}

/// A whole document.
#[derive(Debug, Clone, Serialize)]
pub struct Doc {
    /// Title.
    pub title: String,
    /// Subtitle (data, model version, date).
    pub subtitle: String,
    /// Sections.
    pub sections: Vec<Section>,
}

impl Doc {
    /// Markdown rendering.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n_{}_\n\n", self.title, self.subtitle);
        for s in &self.sections {
            out.push_str(&format!("## {}\n\n", s.heading));
            for b in &s.blocks {
                match b {
                    Block::Para(t) => out.push_str(&format!("{t}\n\n")),
                    Block::Callout(t) => out.push_str(&format!("> {t}\n\n")),
                    Block::List(items) => {
                        for i in items {
                            out.push_str(&format!("- {i}\n"));
                        }
                        out.push('\n');
                    }
                    Block::Table { headers, rows } => {
                        out.push_str(&format!("| {} |\n", headers.join(" | ")));
                        out.push_str(&format!(
                            "|{}\n",
                            headers.iter().map(|_| "---|").collect::<String>()
                        ));
                        for r in rows {
                            out.push_str(&format!("| {} |\n", r.join(" | ")));
                        }
                        out.push('\n');
                    }
                    Block::Chart(c) => {
                        out.push_str(&format!("_Chart: {} (see the HTML report)._\n\n", c.title))
                    }
                }
            }
        }
        out
    }

    /// The body HTML (for embedding in an app page that loads the chart scripts itself),
    /// rendered by the shared `storecast/doc.html` template.
    pub fn body_html(&self) -> Result<String, RenderError> {
        let env = crate::render::environment()?;
        let sections: Vec<serde_json::Value> = self
            .sections
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id,
                    "heading": s.heading,
                    "blocks": s.blocks.iter().map(block_view).collect::<Vec<_>>(),
                })
            })
            .collect();
        crate::render::render(
            &env,
            "storecast/doc.html",
            serde_json::json!({ "sections": sections }),
        )
    }

    /// A complete self-contained HTML page.
    pub fn to_html(&self) -> Result<String, RenderError> {
        let body = format!(
            "<header class=\"top\"><h1>{}</h1><p>{}</p></header><main>{}</main>",
            html_escape(&self.title),
            html_escape(&self.subtitle),
            self.body_html()?
        );
        Ok(standalone_page(&self.title, &body))
    }
}

/// What the template reads of a block: its kind and its content (a chart as its embedded
/// HTML).
fn block_view(b: &Block) -> serde_json::Value {
    use serde_json::json;
    match b {
        Block::Para(t) => json!({"kind": "para", "text": t}),
        Block::Callout(t) => json!({"kind": "callout", "text": t}),
        Block::List(items) => json!({"kind": "list", "items": items}),
        Block::Table { headers, rows } => {
            json!({"kind": "table", "headers": headers, "rows": rows})
        }
        Block::Chart(c) => json!({"kind": "chart", "html": c.embed()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Series};

    #[test]
    fn renders_both_formats_from_one_model() {
        let doc = Doc {
            title: "T".into(),
            subtitle: "s".into(),
            sections: vec![Section::new("a", "Alpha")
                .para("some **bold** <text>")
                .table(&["k", "v"], vec![vec!["x".into(), "1.5%".into()]])
                .chart(
                    Chart::new("c", Kind::Bar, "C")
                        .labels(["a"])
                        .series(Series::new("s", vec![1.0])),
                )],
        };
        let md = doc.to_markdown();
        assert!(md.contains("## Alpha") && md.contains("| x | 1.5% |") && md.contains("_Chart: C"));
        let html = doc.to_html().expect("renders");
        assert!(html.contains("some <b>bold</b> &lt;text&gt;"));
        assert!(html.contains("<td class=\"num\">1.5%</td>"));
        let body = doc.body_html().expect("renders");
        assert_eq!(body.matches("class=\"chart-spec\"").count(), 1);
    }
}
