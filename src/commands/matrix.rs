//! `podspec matrix`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use podspec::report::{self, matrix};

#[derive(clap::Args)]
pub(crate) struct MatrixArgs {
    /// The runs' report.json files (each run's report.md beside it is linked to).
    #[arg(required_unless_present = "differs", value_name = "REPORT.json")]
    pub(crate) reports: Vec<PathBuf>,
    /// Also write differs.html and differs.md: the scenarios whose outcome differs between these
    /// two runs, or that fail in both otherwise (another step, another diff), both cells side by
    /// side (added to the matrix when not among REPORT.json).
    #[arg(long, num_args = 2, value_names = ["RUN_A.json", "RUN_B.json"])]
    pub(crate) differs: Vec<PathBuf>,
    /// Where to write matrix.html and matrix.md [default: the deepest directory holding every report]
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// `podspec matrix`: reads the runs' reports and writes matrix.html and matrix.md.
pub(crate) fn matrix(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    let mut records = Vec::with_capacity(args.reports.len());
    let mut paths: Vec<PathBuf> = Vec::with_capacity(args.reports.len());
    for path in args.reports.iter().chain(&args.differs) {
        let record = report::json::read(path)?;
        // Absolute and resolved, so links between the reports and the matrix can be made.
        let resolved = std::fs::canonicalize(path).with_context(|| format!("cannot resolve report {}", path.display()))?;
        if !paths.contains(&resolved) {
            records.push(record);
            paths.push(resolved);
        }
    }
    let out = match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
            std::fs::canonicalize(&dir).with_context(|| format!("cannot resolve directory {}", dir.display()))?
        }
        None => matrix::default_out_dir(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>()),
    };
    let runs: Vec<matrix::Run<'_>> = records.iter().zip(&paths).map(|(record, report)| matrix::Run { record, report }).collect();
    let built = matrix::build(&runs, &out);
    let (html, md) = (out.join(matrix::HTML_FILE), out.join(matrix::MARKDOWN_MATRIX_FILE));
    report::matrix_html::write(&built, &html)?;
    report::matrix_md::write(&built, &md)?;
    if let [a, b] = args.differs.as_slice() {
        let column = |p: &PathBuf| std::fs::canonicalize(p).ok().and_then(|p| paths.iter().position(|q| *q == p));
        let (a, b) = (column(a).context("--differs RUN_A")?, column(b).context("--differs RUN_B")?);
        let (dh, dm) = report::matrix_differs::write(&built, a, b, &out)?;
        eprintln!(
            "podspec: {} scenario(s) differ between {} and {}",
            report::matrix_differs::differing(&built, a, b).len(),
            built.columns[a].label,
            built.columns[b].label
        );
        println!("{}", dh.display());
        println!("{}", dm.display());
    }
    for c in &built.columns {
        eprintln!("podspec: {}: {}, {} not run", c.label, c.summary, c.not_run);
    }
    println!("{}", html.display());
    println!("{}", md.display());
    Ok(ExitCode::SUCCESS)
}
