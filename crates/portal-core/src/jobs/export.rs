//! CSV exports of job results and audits, safe to open in a spreadsheet: a cell that begins
//! with `=`, `+`, `-` or `@` (and tab or carriage return, which spreadsheets also read as a
//! formula start) is prefixed with a single quote, so it is shown, never evaluated.

/// A cell neutralised against formula injection.
pub fn safe_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

/// A CSV document of `header` and `rows`, every cell neutralised, quoted as needed.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> Result<String, String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer
        .write_record(header.iter().map(|h| safe_cell(h)))
        .map_err(|e| e.to_string())?;
    for row in rows {
        writer
            .write_record(row.iter().map(|c| safe_cell(c)))
            .map_err(|e| e.to_string())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_commas_quoted() {
        for (value, safe) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("adele@contoso.com", "adele@contoso.com"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(value), safe);
        }
        let csv = to_csv(
            &["user", "outcome"],
            &[
                vec!["o'brien@contoso.com".into(), "installed, 1.2.0".into()],
                vec!["=cmd".into(), "-".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            csv,
            "user,outcome\r\no'brien@contoso.com,\"installed, 1.2.0\"\r\n'=cmd,'-\r\n"
        );
    }
}
