//! `show FILE`: a plan file, checked (a file edited by hand is refused), printed in any format
//! — the terminal report, JSON, text, CSV, Markdown for a pull request, a page. It reads no
//! ledger and calls no AWS API.

use super::review;
use crate::error::Exit;
use crate::options::ShowOptions;
use crate::planfile;

pub fn show(args: &ShowOptions) -> anyhow::Result<Exit> {
    let file = planfile::read(&args.path)?;
    let document = &file.document;
    let path = args.path.display().to_string();
    let shown = review::Shown::new(
        document.saved_plan(),
        Some(file.hash.clone()),
        Some(document.review.clone()),
        document.plan.producer_check.clone(),
        Some(review::apply_command(
            document.plan.id,
            Some(&path),
            Some(&file.hash),
            Some(&document.review),
        )),
        format!("firehose-sse show {path}"),
    );
    let view = shown.view();
    review::print(
        args.format,
        &args.global.output,
        &view,
        shown.context(),
        args.global.color,
    )?;
    Ok(Exit::Ok)
}
