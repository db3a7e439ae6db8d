//! The table: benchmark | ferrolock | floor | ratio | target | met?

pub struct Row {
    pub benchmark: String,
    pub ferrolock: String,
    pub floor: String,
    pub ratio: Option<f64>,
    pub target: String,
    /// `None`: no target (reported for information).
    pub met: Option<bool>,
}

impl Row {
    fn cells(&self) -> [String; 6] {
        [
            self.benchmark.clone(),
            self.ferrolock.clone(),
            self.floor.clone(),
            self.ratio.map_or("-".to_owned(), |r| if r >= 100.0 { format!("{r:.0}x") } else { format!("{r:.2}x") }),
            self.target.clone(),
            match self.met {
                Some(true) => "yes".to_owned(),
                Some(false) => "NO".to_owned(),
                None => "-".to_owned(),
            },
        ]
    }
}

const HEAD: [&str; 6] = ["benchmark", "ferrolock", "floor", "ratio", "target", "met?"];

/// A plain-text table for the terminal.
pub fn text(rows: &[Row]) -> String {
    let cells: Vec<[String; 6]> = rows.iter().map(Row::cells).collect();
    let mut width = HEAD.map(|h| h.chars().count());
    for r in &cells {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        let mut s = String::new();
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            s.push_str(c);
            s.extend(std::iter::repeat_n(' ', width[i] - c.chars().count()));
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(&HEAD.map(str::to_owned));
    out.push_str(&width.iter().map(|&w| "-".repeat(w)).collect::<Vec<_>>().join("-+-"));
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}

/// The same table in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEAD.join(" | "));
    out.push_str("| --- | ---: | ---: | ---: | --- | --- |\n");
    for r in rows {
        out.push_str(&format!("| {} |\n", r.cells().join(" | ")));
    }
    out
}
