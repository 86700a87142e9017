//! Data feeders: rows from a CSV or JSON file that virtual users draw from.
//!
//! Three modes:
//! - `sequential`: rows in file order, wrapping around at the end;
//! - `random`: a row chosen uniformly at random for each draw;
//! - `unique`: each virtual user gets a row of its own and keeps it for its
//!   whole life (user accounts, say). More VUs than rows is an error — the
//!   feeder "runs dry" — rather than two VUs silently sharing an account.
//!
//! A distributed run gives each segment its own share of the rows
//! ([`Feeder::rows_for`]), so unique rows stay unique across agents. The
//! rows themselves are shared (`Arc`), never copied, between segments.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::segment::Segment;

/// How rows are handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeedMode {
    Sequential,
    Random,
    Unique,
}

impl FeedMode {
    pub(crate) const NAMES: [&'static str; 3] = ["sequential", "random", "unique"];

    pub(crate) fn parse(s: &str) -> Option<FeedMode> {
        match s {
            "sequential" => Some(FeedMode::Sequential),
            "random" => Some(FeedMode::Random),
            "unique" => Some(FeedMode::Unique),
            _ => None,
        }
    }
}

/// The file formats a feeder reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataFormat {
    /// Comma-separated, with a header row naming the columns.
    Csv,
    /// An array of objects; the columns are their keys.
    Json,
}

impl DataFormat {
    /// The format a file name implies (`.csv`, `.json`).
    pub(crate) fn from_path(path: &Path) -> Option<DataFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(DataFormat::Csv),
            "json" => Some(DataFormat::Json),
            _ => None,
        }
    }
}

/// Why rows could not be loaded or drawn.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeederError {
    #[error("{message}")]
    Load { message: String },
    #[error(
        "data feeder `{feeder}` (mode: unique) ran dry: every virtual user needs a row of its own, \
         and this run started more than the file's {rows} rows; add rows or run fewer virtual users"
    )]
    RanDry {
        feeder: String,
        rows: usize,
        vu: usize,
    },
    #[error("data feeder `{feeder}` has no rows")]
    Empty { feeder: String },
}

/// The loaded rows of one data feeder (or of a segment's share of them).
pub(crate) struct Feeder {
    pub name: String,
    pub mode: FeedMode,
    columns: Arc<[String]>,
    rows: Arc<[Box<[String]>]>,
    /// This segment's rows: `rows[start..end]`.
    start: usize,
    end: usize,
    cursor: AtomicUsize,
}

impl fmt::Debug for Feeder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feeder")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("columns", &self.columns)
            .field("rows", &(self.start..self.end))
            .finish()
    }
}

impl Clone for Feeder {
    /// A copy sharing the rows, with its own sequential cursor.
    fn clone(&self) -> Feeder {
        Feeder {
            name: self.name.clone(),
            mode: self.mode,
            columns: self.columns.clone(),
            rows: self.rows.clone(),
            start: self.start,
            end: self.end,
            cursor: AtomicUsize::new(0),
        }
    }
}

impl Feeder {
    /// Builds a feeder from columns and rows (each row as long as `columns`).
    pub(crate) fn new(
        name: &str,
        mode: FeedMode,
        columns: Vec<String>,
        rows: Vec<Box<[String]>>,
    ) -> Feeder {
        let end = rows.len();
        Feeder {
            name: name.to_owned(),
            mode,
            columns: columns.into(),
            rows: rows.into(),
            start: 0,
            end,
            cursor: AtomicUsize::new(0),
        }
    }

    /// Loads a CSV or JSON file; `format` defaults to what the extension says.
    pub(crate) fn load(
        name: &str,
        path: &Path,
        mode: FeedMode,
        format: Option<DataFormat>,
    ) -> Result<Feeder, FeederError> {
        let format = format
            .or_else(|| DataFormat::from_path(path))
            .ok_or_else(|| FeederError::Load {
                message: format!(
                    "cannot tell the format of {}: name it .csv or .json, or set `format`",
                    path.display()
                ),
            })?;
        let bytes =
            crate::limits::read_file(path, crate::limits::MAX_DATA_FILE_BYTES).map_err(|e| {
                FeederError::Load {
                    message: format!("cannot read {}: {e}", path.display()),
                }
            })?;
        let shown = path.display().to_string();
        match format {
            DataFormat::Csv => Feeder::from_csv(name, mode, &bytes, &shown),
            DataFormat::Json => Feeder::from_json(name, mode, &bytes, &shown),
        }
    }

    /// Parses CSV with a header row. `file` names the source in errors.
    pub(crate) fn from_csv(
        name: &str,
        mode: FeedMode,
        bytes: &[u8],
        file: &str,
    ) -> Result<Feeder, FeederError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let err = |message: String| FeederError::Load {
            message: format!("{file}: {message}"),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .from_reader(bytes);
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| err(csv_message(&e)))?
            .iter()
            .map(str::to_owned)
            .collect();
        check_columns(&columns).map_err(|e| err(e.to_string()))?;
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| err(csv_message(&e)))?;
            rows.push(record.iter().map(str::to_owned).collect::<Box<[String]>>());
        }
        if rows.is_empty() {
            return Err(err("no rows after the header".into()));
        }
        Ok(Feeder::new(name, mode, columns, rows))
    }

    /// Parses a JSON array of objects. Every object must have every column
    /// (the keys seen across all rows); values that are not strings are
    /// kept as JSON text (`42`, `true`, `{"a":1}`), `null` as "".
    pub(crate) fn from_json(
        name: &str,
        mode: FeedMode,
        bytes: &[u8],
        file: &str,
    ) -> Result<Feeder, FeederError> {
        let err = |message: String| FeederError::Load {
            message: format!("{file}: {message}"),
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            err(format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let serde_json::Value::Array(items) = value else {
            return Err(err("expected an array of objects".into()));
        };
        if items.is_empty() {
            return Err(err("the array is empty".into()));
        }
        // Columns in the order first seen; the set keeps this linear in the
        // keys, whatever their number (a file may have 100,000).
        let mut columns: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let serde_json::Value::Object(map) = item else {
                return Err(err(format!("item {} is not an object", i + 1)));
            };
            for key in map.keys() {
                if seen.insert(key.as_str()) {
                    columns.push(key.clone());
                }
            }
        }
        check_columns(&columns).map_err(|e| err(e.to_string()))?;
        let mut rows = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let row = columns
                .iter()
                .map(|c| match item.get(c) {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(serde_json::Value::Null) => Ok(String::new()),
                    Some(other) => Ok(other.to_string()),
                    None => Err(err(format!("item {} has no `{c}`", i + 1))),
                })
                .collect::<Result<Box<[String]>, _>>()?;
            rows.push(row);
        }
        Ok(Feeder::new(name, mode, columns, rows))
    }

    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of a column, for binding `feeder.column` in templates.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Rows available to this (segment's) feeder.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `index` of this feeder's rows.
    pub(crate) fn row(&self, index: usize) -> Option<&[String]> {
        (index < self.len()).then(|| &*self.rows[self.start + index])
    }

    /// This feeder's share of rows for `segment`: contiguous blocks whose
    /// sizes differ by at most one ([`Segment::share`]). A sequential or
    /// random feeder with too few rows to split keeps them all (sharing
    /// rows is harmless there); a unique one gets its exact share.
    pub(crate) fn rows_for(&self, segment: Segment) -> Feeder {
        let total = self.len() as u64;
        let before: u64 = (0..segment.index)
            .map(|i| {
                Segment {
                    index: i,
                    count: segment.count,
                }
                .share(total)
            })
            .sum();
        let mine = segment.share(total);
        let (start, end) = if mine == 0 && self.mode != FeedMode::Unique {
            (self.start, self.end)
        } else {
            (
                self.start + before as usize,
                self.start + (before + mine) as usize,
            )
        };
        Feeder {
            start,
            end,
            cursor: AtomicUsize::new(0),
            ..self.clone()
        }
    }

    /// The row for a draw, by mode. `vu_index` is the VU's 0-based index
    /// within this segment (used by `unique`).
    pub(crate) fn draw(&self, vu_index: usize) -> Result<&[String], FeederError> {
        if self.is_empty() && self.mode != FeedMode::Unique {
            return Err(FeederError::Empty {
                feeder: self.name.clone(),
            });
        }
        match self.mode {
            FeedMode::Sequential => Ok(self.next_sequential()),
            FeedMode::Random => Ok(&self.rows[self.start + fastrand::usize(..self.len())]),
            FeedMode::Unique => self.for_vu(vu_index),
        }
    }

    /// The next row in order, wrapping around. Shared by every VU using
    /// this feeder value; give each worker thread its own (via
    /// [`Feeder::rows_for`] or `clone`) to avoid contention.
    fn next_sequential(&self) -> &[String] {
        let i = self.cursor.fetch_add(1, Ordering::Relaxed) % self.len();
        &self.rows[self.start + i]
    }

    /// The row of VU `vu_index` in unique mode.
    pub(crate) fn for_vu(&self, vu_index: usize) -> Result<&[String], FeederError> {
        // `rows` is the file's count (not this segment's share): that is
        // the number the user can act on.
        self.row(vu_index).ok_or_else(|| FeederError::RanDry {
            feeder: self.name.clone(),
            rows: self.rows.len(),
            vu: vu_index + 1,
        })
    }
}

/// What is wrong with a data file's column names; it becomes the message of
/// a [`FeederError::Load`].
#[derive(Debug, thiserror::Error)]
enum ColumnError {
    #[error("no columns")]
    NoColumns,
    /// The 1-based position of a column without a name.
    #[error("column {0} has no name")]
    Unnamed(usize),
    #[error("column `{0}` appears twice")]
    Repeated(String),
}

fn check_columns(columns: &[String]) -> Result<(), ColumnError> {
    if columns.is_empty() {
        return Err(ColumnError::NoColumns);
    }
    // A set, not a scan of the columns before each: a file may have 100,000.
    let mut seen = std::collections::HashSet::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        if c.is_empty() {
            return Err(ColumnError::Unnamed(i + 1));
        }
        if !seen.insert(c.as_str()) {
            return Err(ColumnError::Repeated(c.clone()));
        }
    }
    Ok(())
}

fn csv_message(e: &csv::Error) -> String {
    match (e.kind(), e.position()) {
        (
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            },
            Some(p),
        ) => {
            format!(
                "line {}: {len} fields, expected {expected_len} like the header",
                p.line()
            )
        }
        (_, Some(p)) => format!("line {}: {e}", p.line()),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "username, password\nann,a1\nbob,b2\ncat,c3\ndan,d4\neve,e5\n";

    fn csv_feeder(mode: FeedMode) -> Feeder {
        Feeder::from_csv("users", mode, CSV.as_bytes(), "users.csv").unwrap()
    }

    #[test]
    fn loads_csv_with_columns() {
        let f = csv_feeder(FeedMode::Sequential);
        assert_eq!(f.columns(), ["username", "password"]);
        assert_eq!(f.column("password"), Some(1));
        assert_eq!(f.len(), 5);
        assert_eq!(f.row(1).unwrap(), ["bob", "b2"]);
        let quoted = Feeder::from_csv(
            "q",
            FeedMode::Random,
            b"\xEF\xBB\xBFa,b\n\"x,y\",\"say \"\"hi\"\"\"\n",
            "q.csv",
        )
        .unwrap();
        assert_eq!(quoted.row(0).unwrap(), ["x,y", "say \"hi\""]);
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let e = Feeder::from_csv("u", FeedMode::Sequential, b"a,b\n1,2\n3\n", "u.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "u.csv: line 3: 1 fields, expected 2 like the header"
        );
        let e = Feeder::from_csv("u", FeedMode::Sequential, b"a,b\n", "u.csv").unwrap_err();
        assert!(e.to_string().contains("no rows"));
        let e = Feeder::from_csv("u", FeedMode::Sequential, b"a,a\n1,2\n", "u.csv").unwrap_err();
        assert!(e.to_string().contains("twice"));
        let e = Feeder::from_csv("u", FeedMode::Sequential, b"", "u.csv").unwrap_err();
        assert!(e.to_string().contains("u.csv"), "{e}");
    }

    #[test]
    fn loads_json_objects() {
        let f = Feeder::from_json(
            "apps",
            FeedMode::Random,
            br#"[{"name": "chess", "price": 3}, {"name": "go", "price": null, "tags": ["a"]}]"#,
            "a.json",
        );
        let e = f.unwrap_err();
        assert_eq!(e.to_string(), "a.json: item 1 has no `tags`");
        let f = Feeder::from_json(
            "apps",
            FeedMode::Random,
            br#"[{"name": "chess", "price": 3}, {"price": null, "name": "go"}]"#,
            "a.json",
        )
        .unwrap();
        assert_eq!(f.columns(), ["name", "price"]);
        assert_eq!(f.row(0).unwrap(), ["chess", "3"]);
        assert_eq!(f.row(1).unwrap(), ["go", ""]);
        for (bad, says) in [
            (&b"{}"[..], "array of objects"),
            (b"[1]", "not an object"),
            (b"[", "invalid JSON at line 1"),
            (b"[]", "the array is empty"),
            (b"[{}]", "no columns"),
        ] {
            let e = Feeder::from_json("x", FeedMode::Random, bad, "x.json")
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    /// 100,000 columns load in linear time, and a message about them does
    /// not list them all.
    #[test]
    fn wide_files_load_in_linear_time() {
        let n = 100_000;
        let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let csv = format!("{}\n{}\n", header.join(","), vec!["1"; n].join(","));
        let json = serde_json::to_vec(&vec![
            header
                .iter()
                .map(|c| (c.clone(), serde_json::Value::from(1)))
                .collect::<serde_json::Map<_, _>>();
            3
        ])
        .unwrap();
        // Timed in this thread's CPU time, which other work on the machine
        // does not stretch (wall-clock time where the kernel keeps no such
        // clock).
        let cpu = || crate::thread_clock::ThreadClock::now().map(|c| c.on_cpu);
        let (wall, cpu_before) = (std::time::Instant::now(), cpu());
        let f = Feeder::from_csv("w", FeedMode::Sequential, csv.as_bytes(), "w.csv").unwrap();
        assert_eq!(f.columns().len(), n);
        let f = Feeder::from_json("w", FeedMode::Sequential, &json, "w.json").unwrap();
        assert_eq!((f.columns().len(), f.len()), (n, 3));
        let took = match (cpu_before, cpu()) {
            (Some(before), Some(after)) => after - before,
            _ => wall.elapsed(),
        };
        // Quadratic, these took minutes; linear, well under a second.
        assert!(
            took < std::time::Duration::from_secs(10),
            "loading took {took:?} of CPU time"
        );
    }

    #[test]
    fn modes() {
        let f = csv_feeder(FeedMode::Sequential);
        let names: Vec<&str> = (0..7).map(|_| f.draw(0).unwrap()[0].as_str()).collect();
        assert_eq!(names, ["ann", "bob", "cat", "dan", "eve", "ann", "bob"]);
        let f = csv_feeder(FeedMode::Random);
        for _ in 0..20 {
            assert!(f.draw(0).unwrap()[0].len() == 3);
        }
        let f = csv_feeder(FeedMode::Unique);
        assert_eq!(f.draw(4).unwrap()[0], "eve");
        assert_eq!(f.draw(0).unwrap()[0], "ann");
        let e = f.draw(5).unwrap_err();
        assert_eq!(
            e,
            FeederError::RanDry {
                feeder: "users".into(),
                rows: 5,
                vu: 6
            }
        );
        assert!(e
            .to_string()
            .contains("ran dry: every virtual user needs a row of its own, and this run started more than the file's 5 rows"));
    }

    #[test]
    fn segments_split_rows() {
        let f = csv_feeder(FeedMode::Unique);
        let parts: Vec<Vec<String>> = Segment::all(2)
            .map(|s| {
                let p = f.rows_for(s);
                (0..p.len()).map(|i| p.row(i).unwrap()[0].clone()).collect()
            })
            .collect();
        assert_eq!(parts, vec![vec!["ann", "bob", "cat"], vec!["dan", "eve"]]);
        // Nested splits (a worker's share of an agent's share) stay disjoint.
        let second = f.rows_for(Segment::new(1, 2)).rows_for(Segment::new(1, 2));
        assert_eq!(second.row(0).unwrap()[0], "eve");
        assert!(second.draw(1).is_err());
        // Too few rows: unique gets nothing, sequential keeps all.
        let tiny = Feeder::from_csv("t", FeedMode::Unique, b"a\n1\n", "t").unwrap();
        assert!(tiny.rows_for(Segment::new(1, 2)).is_empty());
        let tiny = Feeder::from_csv("t", FeedMode::Sequential, b"a\n1\n", "t").unwrap();
        assert_eq!(tiny.rows_for(Segment::new(1, 2)).draw(0).unwrap(), ["1"]);
    }
}
