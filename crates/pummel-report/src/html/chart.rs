//! Chart specifications: what each chart shows, decided here in Rust and
//! serialised into the page, where `page.js` turns each into a uPlot chart.
//!
//! Keeping the choice of data, units and colours on this side keeps the
//! script small and generic (one function draws every chart of every page),
//! and lets unit tests check the charts without a browser.

use serde::Serialize;

/// Colours, chosen to stay apart for the common forms of colour blindness
/// and to print legibly in grey.
pub mod color {
    pub const BLUE: &str = "#2563eb";
    pub const GREEN: &str = "#16a34a";
    pub const AMBER: &str = "#d97706";
    pub const RED: &str = "#dc2626";
    pub const VIOLET: &str = "#7c3aed";
    pub const CYAN: &str = "#0891b2";
    pub const PINK: &str = "#db2777";
    pub const SLATE: &str = "#64748b";
    /// For series beyond the named ones (steps in a trend).
    pub const CYCLE: [&str; 8] = [BLUE, RED, GREEN, AMBER, VIOLET, CYAN, PINK, SLATE];
}

/// How values on an axis are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Milliseconds, written `850 µs`, `12 ms`, `1.2 s`.
    Ms,
    /// Seconds since the start, written `45s`, `1m30s`.
    S,
    /// Per second.
    PerS,
    /// Already a percentage (0–100).
    Percent,
    Count,
    /// Percentile in nines (1 = 90 %, 2 = 99 % …).
    Nines,
    /// An index into the x axis' `labels` (runs of a trend).
    Run,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct XAxis {
    pub label: String,
    pub unit: Unit,
    /// A logarithmic axis of this base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<u8>,
    pub values: Vec<f64>,
    /// Names of the points when `unit` is [`Unit::Run`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YAxis {
    pub label: String,
    pub unit: Unit,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    /// Index into the chart's `y` axes.
    pub axis: usize,
    /// One per x value; `None` draws a gap.
    pub values: Vec<Option<f64>>,
    pub dash: bool,
    pub fill: bool,
    pub points: bool,
}

/// A vertical line with a label (the saturation point of a capacity chart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Line,
    Bars,
}

/// One chart: the page has an element with this `id` to draw it into.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub id: String,
    pub kind: Kind,
    pub x: XAxis,
    pub y: Vec<YAxis>,
    pub series: Vec<Series>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<Marker>,
    /// Time charts share a cursor: hovering one shows the same second in all.
    pub sync: bool,
}

impl Chart {
    /// A line chart over `x` with one y axis.
    pub fn line(id: &str, x: XAxis, y: YAxis) -> Chart {
        Chart {
            id: id.to_owned(),
            kind: Kind::Line,
            x,
            y: vec![y],
            series: Vec::new(),
            marker: None,
            sync: false,
        }
    }

    /// A chart over time (seconds since the start), synchronised with the
    /// other time charts of the page.
    pub fn over_time(id: &str, seconds: Vec<f64>, y: YAxis) -> Chart {
        let mut c = Chart::line(id, XAxis::new("time", Unit::S, seconds), y);
        c.sync = true;
        c
    }

    pub fn bars(mut self) -> Chart {
        self.kind = Kind::Bars;
        self
    }

    /// Adds a second y axis (on the right).
    pub fn with_axis(mut self, y: YAxis) -> Chart {
        self.y.push(y);
        self
    }

    pub fn series(mut self, s: Series) -> Chart {
        self.series.push(s);
        self
    }

    /// Whether any series has a value other than zero: a chart of nothing
    /// but zeros may be left out.
    pub fn has_nonzero(&self) -> bool {
        self.series
            .iter()
            .flat_map(|s| &s.values)
            .any(|v| v.is_some_and(|v| v != 0.0))
    }
}

impl XAxis {
    pub fn new(label: &str, unit: Unit, values: Vec<f64>) -> XAxis {
        XAxis {
            label: label.to_owned(),
            unit,
            log: None,
            values,
            labels: Vec::new(),
        }
    }

    pub fn log(mut self, base: u8) -> XAxis {
        self.log = Some(base);
        self
    }

    /// An axis of runs `0..labels.len()`, each named.
    pub fn runs(labels: Vec<String>) -> XAxis {
        let values = (0..labels.len()).map(|i| i as f64).collect();
        XAxis {
            label: "run".to_owned(),
            unit: Unit::Run,
            log: None,
            values,
            labels,
        }
    }
}

impl YAxis {
    pub fn new(label: &str, unit: Unit) -> YAxis {
        YAxis {
            label: label.to_owned(),
            unit,
        }
    }
}

impl Series {
    /// A solid line on the first axis.
    pub fn new(label: &str, color: &'static str, values: Vec<Option<f64>>) -> Series {
        Series {
            label: label.to_owned(),
            color,
            axis: 0,
            values,
            dash: false,
            fill: false,
            points: false,
        }
    }

    /// [`Series::new`] from values that are all present.
    pub fn of(label: &str, color: &'static str, values: impl IntoIterator<Item = f64>) -> Series {
        Series::new(label, color, values.into_iter().map(Some).collect())
    }

    pub fn axis(mut self, axis: usize) -> Series {
        self.axis = axis;
        self
    }

    pub fn dashed(mut self) -> Series {
        self.dash = true;
        self
    }

    pub fn filled(mut self) -> Series {
        self.fill = true;
        self
    }

    pub fn with_points(mut self) -> Series {
        self.points = true;
        self
    }
}
