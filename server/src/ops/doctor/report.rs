//! The doctor's findings: a line a check (its status, what was found, how to fix it),
//! and the report as text.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Error,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub check: &'static str,
    pub status: Status,
    pub found: String,
    /// How to fix it (empty when fine).
    pub fix: String,
}

/// The findings so far.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    pub(crate) fn ok(&mut self, check: &'static str, found: impl Into<String>) {
        self.push(check, Status::Ok, found, "");
    }

    pub(crate) fn push(
        &mut self,
        check: &'static str,
        status: Status,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.lines.push(Line {
            check,
            status,
            found: found.into(),
            fix: fix.into(),
        });
    }

    /// The worst finding of `check` (tests and callers ask "what did it say about X").
    pub fn status_of(&self, check: &str) -> Option<Status> {
        let of = self.lines.iter().filter(|l| l.check == check);
        of.map(|l| l.status).max_by_key(|s| *s as u8)
    }

    pub fn has_errors(&self) -> bool {
        self.lines.iter().any(|l| l.status == Status::Error)
    }
}

/// The report as text lines: `status  check  found` and an indented fix.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for line in &report.lines {
        let status = match line.status {
            Status::Ok => "ok   ",
            Status::Warn => "warn ",
            Status::Error => "ERROR",
        };
        out.push_str(&format!("{status} {:<18} {}\n", line.check, line.found));
        if !line.fix.is_empty() {
            out.push_str(&format!("      {:<18} fix: {}\n", "", line.fix));
        }
    }
    out
}
