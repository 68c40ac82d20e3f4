//! The report as one self-contained HTML page.

use std::fmt::Write as _;

use super::Report;

/// HTML-escapes text for element content and quoted attributes (the one escaping
/// function the page uses).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:middle}\
th{background:#f4f4f4}.ok{color:#17692f}.warn{color:#8a5a00}.bad{color:#a3161b}img{width:48px;height:48px;border-radius:50%}\
.totals td{border:none;padding:2px 12px 2px 0}code{font-size:12px}";

/// The page.
pub fn render(report: &Report, title: &str) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let t = &report.totals;
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p>Generated {}</p>",
        escape(title),
        escape(title),
        escape(&report.generated_at)
    );
    let _ = write!(h, "<table class=\"totals\" id=\"totals\"><tr><td>Users known</td><td id=\"users\">{}</td></tr>", t.users);
    for (origin, n) in &t.by_origin {
        let _ = write!(
            h,
            "<tr><td>Photo from {}</td><td>{n}</td></tr>",
            escape(origin)
        );
    }
    for (target, n) in &t.per_target {
        let _ = write!(
            h,
            "<tr><td>Recorded in {}</td><td data-target=\"{}\">{n}</td></tr>",
            escape(target),
            escape(target)
        );
    }
    let _ = write!(
        h,
        "<tr><td>Retrying</td><td id=\"retrying\">{}</td></tr><tr><td>Failed</td><td id=\"failed\">{}</td></tr>\
         <tr><td>Poison queue</td><td id=\"poisoned\">{}</td></tr></table>",
        t.retrying, t.failed, t.poisoned
    );
    h.push_str("<h2>Users</h2><table id=\"user-table\"><thead><tr><th></th><th>User</th><th>Source</th><th>Targets</th><th>Last failure</th></tr></thead><tbody>");
    for u in &report.users {
        let img = u
            .thumbnail
            .as_deref()
            .filter(|d| d.starts_with("data:image/jpeg;base64,"))
            .map(|d| format!("<img alt=\"\" src=\"{}\">", escape(d)))
            .unwrap_or_default();
        let name = u.upn.as_deref().unwrap_or(&u.id);
        let mut targets = String::new();
        for (target, rec) in &u.targets {
            let (class, state) = if rec.sha256.starts_with("pending:") {
                ("warn", "write unconfirmed")
            } else if target == "m365" && u.origin.as_deref() == Some("m365") {
                ("ok", "holds the source photo, seen")
            } else {
                ("ok", "written")
            };
            let _ = write!(
                targets,
                "<div class=\"{class}\">{}: {state} {}</div>",
                escape(target),
                escape(&when(rec.written_at))
            );
        }
        let failure = u
            .failure
            .as_ref()
            .map(|f| {
                let class = if f.retryable { "warn" } else { "bad" };
                format!(
                    "<span class=\"{class}\">{} (attempt {})</span>",
                    escape(&f.error),
                    f.attempts
                )
            })
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr data-user=\"{}\"><td>{img}</td><td>{}<br><code>{}</code></td><td>{}</td><td>{targets}</td><td>{failure}</td></tr>",
            escape(&u.id),
            escape(name),
            escape(&u.id),
            escape(u.origin.as_deref().unwrap_or("—")),
        );
    }
    h.push_str("</tbody></table><h2>Poison queue</h2>");
    if report.poisoned.is_empty() {
        h.push_str("<p id=\"poison-empty\">Empty.</p>");
    } else {
        h.push_str("<table id=\"poison-table\"><thead><tr><th>Message</th><th>Attempts</th><th>Reason</th><th>When</th></tr></thead><tbody>");
        for p in &report.poisoned {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"bad\">{}</td><td>{}</td></tr>",
                escape(&p.body.chars().take(300).collect::<String>()),
                p.dequeue_count,
                escape(&p.reason),
                escape(&when(p.poisoned_at))
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_can_hide_in() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
