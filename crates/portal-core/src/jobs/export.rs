//! CSV exports of job results, plans and audits, safe to open in a spreadsheet, per OWASP's
//! CSV-injection guidance: a cell that a spreadsheet would read as a formula is prefixed with a
//! single quote, so it is shown, never evaluated. A formula starts with `=`, `+`, `-` or `@`
//! (or their full-width and small forms, which spreadsheets read alike), also after leading
//! blanks (spaces, line feeds, no-break and ideographic spaces, zero-width characters); a tab
//! or carriage return first is neutralised too. Cells are quoted as RFC 4180 needs.

/// Characters a spreadsheet skips before it looks for a formula's first character.
fn is_leading_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}'
        )
}

/// Characters that start a formula: ASCII, full-width and small forms.
fn starts_formula(c: char) -> bool {
    matches!(
        c,
        '=' | '+'
            | '-'
            | '@'
            | '\u{ff1d}'
            | '\u{ff0b}'
            | '\u{ff0d}'
            | '\u{ff20}'
            | '\u{fe66}'
            | '\u{fe62}'
            | '\u{fe63}'
            | '\u{fe6b}'
    )
}

/// A cell neutralised against formula injection.
pub fn safe_cell(value: &str) -> String {
    let first_is_control = matches!(value.chars().next(), Some('\t' | '\r'));
    let formula = value
        .chars()
        .find(|c| !is_leading_blank(*c))
        .is_some_and(starts_formula);
    if first_is_control || formula {
        format!("'{value}")
    } else {
        value.to_string()
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
    fn a_formula_start_is_neutralised_after_leading_blanks_and_in_full_width_too() {
        // OWASP's CSV-injection guidance: `=`, `+`, `-`, `@`, tab and carriage return start a
        // formula; spreadsheets skip leading blanks (space, line feed, no-break space) before
        // them and read the full-width forms as the ASCII ones (hole 7 of issue #22).
        let neutralised = [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "\tx",
            "\rx",
            " =1",
            "   +cmd|' /C calc'!A0",
            "\n=1",
            "\r\n@x",
            "\u{a0}=1",
            "\u{a0} \n-1",
            "\u{3000}=1",
            "\u{feff}=1",
            "\u{200b}=1",
            "\u{ff1d}1+1",
            "\u{ff0b}1",
            "\u{ff0d}1",
            "\u{ff20}SUM(A1)",
            " \u{ff1d}1",
            "\u{fe66}1",
            "\u{fe62}1",
            "\u{fe63}1",
            "\u{fe6b}x",
        ];
        for value in neutralised {
            assert_eq!(safe_cell(value), format!("'{value}"), "{value:?}");
        }
        let kept = [
            "",
            " ",
            "adele@contoso.com",
            "a=b",
            "1-2",
            "x\n=1",
            "Installed, 1.2.0",
            "'=already quoted",
            "\u{a0}text",
            "5b649834-7412-4cce-9e69-176e95a394f5",
        ];
        for value in kept {
            assert_eq!(safe_cell(value), value, "{value:?}");
        }
    }

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
