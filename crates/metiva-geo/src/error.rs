use std::path::PathBuf;

/// Everything that can go wrong while loading the ASN data or parsing a
/// known-networks CSV. Parsing never panics; it returns one of these.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// A data file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of CSV input is malformed. Displays as
    /// `line 3: "192.0.2.0/33" is not a CIDR network`, prefixed with the file
    /// name when there is one.
    #[error("{}line {line}: {message}", file_prefix(.file.as_deref()))]
    Line {
        /// The file the line came from; `None` for text that was not read
        /// from a file (such as an uploaded known-networks CSV).
        file: Option<String>,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line, in plain words.
        message: String,
    },
    /// The input has more rows (or distinct entries) than allowed.
    #[error("too many rows: at most {max} are allowed")]
    TooMany {
        /// The limit that was exceeded.
        max: usize,
    },
}

fn file_prefix(file: Option<&str>) -> String {
    match file {
        Some(name) => format!("{name}, "),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_error_display() {
        let e = GeoError::Line {
            file: None,
            line: 3,
            message: "\"192.0.2.0/33\" is not a CIDR network".into(),
        };
        assert_eq!(
            e.to_string(),
            "line 3: \"192.0.2.0/33\" is not a CIDR network"
        );
        let e = GeoError::Line {
            file: Some("asn-ipv4-num.csv".into()),
            line: 7,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "asn-ipv4-num.csv, line 7: bad");
    }
}
