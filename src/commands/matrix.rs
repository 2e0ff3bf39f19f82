//! `podspec matrix`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use podspec::report::{self, matrix};

#[derive(clap::Args)]
pub(crate) struct MatrixArgs {
    /// The runs' report.json files (each run's report.md beside it is linked to).
    #[arg(required = true, value_name = "REPORT.json")]
    pub(crate) reports: Vec<PathBuf>,
    /// Where to write matrix.html and matrix.md [default: the deepest directory holding every report]
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// `podspec matrix`: reads the runs' reports and writes matrix.html and matrix.md.
pub(crate) fn matrix(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    let mut records = Vec::with_capacity(args.reports.len());
    let mut paths = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        records.push(report::json::read(path)?);
        // Absolute and resolved, so links between the reports and the matrix can be made.
        paths.push(std::fs::canonicalize(path).with_context(|| format!("cannot resolve report {}", path.display()))?);
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
    for c in &built.columns {
        eprintln!("podspec: {}: {}, {} not run", c.label, c.summary, c.not_run);
    }
    println!("{}", html.display());
    println!("{}", md.display());
    Ok(ExitCode::SUCCESS)
}
