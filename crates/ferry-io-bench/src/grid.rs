//! `Grid`: rows of cells, printed as a markdown table or as aligned text.

/// A table: a header and rows of cells; the first column is left-aligned,
/// the others right-aligned (they hold figures).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    /// An empty table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Grid {
        Grid {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty, extra ones are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// As a markdown table.
    ///
    /// ```
    /// use ferry_io_bench::grid::Grid;
    ///
    /// let mut grid = Grid::new(["scenario", "GB/s"]);
    /// grid.row(vec!["tcp-recv".into(), "2.50".into()]);
    /// assert_eq!(grid.markdown(), "| scenario | GB/s |\n|---|---:|\n| tcp-recv | 2.50 |\n");
    /// ```
    pub fn markdown(&self) -> String {
        let line = |cells: Vec<&str>| format!("| {} |\n", cells.join(" | "));
        let mut out = line(self.header.iter().map(String::as_str).collect());
        out.push('|');
        for column in 0..self.header.len() {
            out.push_str(if column == 0 { "---|" } else { "---:|" });
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(self.cells(row)));
        }
        out
    }

    /// As plain text: columns padded to their widest cell, two spaces apart.
    ///
    /// ```
    /// use ferry_io_bench::grid::Grid;
    ///
    /// let mut grid = Grid::new(["scenario", "GB/s"]);
    /// grid.row(vec!["tcp-recv".into(), "2.50".into()]);
    /// assert_eq!(grid.text(), "scenario  GB/s\ntcp-recv  2.50\n");
    /// ```
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|column| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|row| row.get(column).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, &width))| {
                    if column == 0 {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(self.header.iter().map(String::as_str).collect());
        for row in &self.rows {
            out.push_str(&line(self.cells(row)));
        }
        out
    }

    fn cells<'a>(&self, row: &'a [String]) -> Vec<&'a str> {
        (0..self.header.len())
            .map(|column| row.get(column).map_or("", String::as_str))
            .collect()
    }
}
