//! The HTML reports in a real browser (Debian's chromium, headless): every figure is in the
//! page, every activation with its test accuracy, nothing outside the page is referenced, the
//! page is not blank at 1280 px and at 400 px, and at neither does it scroll sideways.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs headless chromium with `args` on `page`, in a fresh profile, and returns its stdout.
fn chromium(page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium (apt-get install chromium): {e}"));
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// `page` inside a frame `width` px wide (headless chromium's window is never narrower than
/// 500 px, a frame is), with a script that records, once loaded, the frame's laid-out width,
/// the tables that scroll sideways (their widths), and the smallest text of any figure as it
/// renders (its font size times the figure's scale on the page).
fn framed(page: &Path, width: u32, dir: &Path) -> PathBuf {
    let html = std::fs::read_to_string(page).unwrap();
    let escaped = html.replace('&', "&amp;").replace('"', "&quot;");
    let wrapper = format!(
        "<!DOCTYPE html><html><body style=\"margin:0\"><iframe id=\"frame\" style=\"width:{width}px;\
         height:1600px;border:0\" srcdoc=\"{escaped}\"></iframe><script>frame.onload = () => {{ \
         const d = frame.contentDocument; \
         document.body.setAttribute('data-scroll-width', d.documentElement.scrollWidth); \
         const wide = [...d.querySelectorAll('.table')].filter(t => t.scrollWidth > t.clientWidth + 1) \
           .map(t => t.scrollWidth + ' px'); \
         document.body.setAttribute('data-wide-tables', wide.join(', ')); \
         let smallest = 1e9; \
         for (const svg of d.querySelectorAll('figure svg')) {{ \
           const scale = svg.getBoundingClientRect().width / svg.width.baseVal.value; \
           for (const t of svg.querySelectorAll('text')) \
             smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * scale); }} \
         document.body.setAttribute('data-smallest-text', smallest); }};</script></body></html>"
    );
    let path = dir.join(format!("framed-{width}.html"));
    std::fs::write(&path, wrapper).unwrap();
    path
}

/// A screenshot of `page` `width` px wide: asserts it is not blank (thousands of pixels that
/// are not the background), and that the page does not scroll sideways at that width.
fn assert_shown_whole(page: &Path, width: u32) {
    let dir = tempfile::tempdir().unwrap();
    let framed = framed(page, width, dir.path());
    let png = dir.path().join("shot.png");
    let window = width.max(500);
    chromium(
        &framed,
        &[
            &format!("--window-size={window},1600"),
            &format!("--screenshot={}", png.display()),
        ],
    );
    let image = image::open(&png).unwrap().to_rgb8();
    let corner = *image.get_pixel(0, 0);
    let drawn = image
        .enumerate_pixels()
        .filter(|(x, _, p)| *x < width && **p != corner)
        .count();
    assert!(
        drawn > 20_000,
        "{} at {width} px: {drawn} pixels drawn",
        page.display()
    );
    let dom = chromium(
        &framed,
        &[&format!("--window-size={window},900"), "--dump-dom"],
    );
    let attribute = |name: &str| -> String {
        let key = format!("{name}=\"");
        let at = dom.find(&key).expect("the frame loaded") + key.len();
        dom[at..].split('"').next().unwrap().to_string()
    };
    let laid_out: u32 = attribute("data-scroll-width").parse().unwrap();
    assert!(
        laid_out <= width,
        "at {width} px the page is {laid_out} px wide"
    );
    // On a laptop's screen every table is read whole and every figure's text is legible.
    if width >= 1280 {
        let wide = attribute("data-wide-tables");
        assert!(
            wide.is_empty(),
            "at {width} px tables scroll sideways: {wide}"
        );
        let smallest: f64 = attribute("data-smallest-text").parse().unwrap();
        assert!(
            smallest >= 11.0 - 1e-6,
            "at {width} px a figure's text is {smallest:.1} px high"
        );
    }
}

/// What is wrong with a page's DOM: a figure of `figures` missing, a text of `texts` missing,
/// or a reference to anything outside the page (only `#anchors` and `data:` are inside).
fn problems(dom: &str, figures: &[String], texts: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for stem in figures {
        if !dom.contains(&format!("data-figure=\"{stem}\"")) {
            found.push(format!("figure {stem} is missing"));
        }
    }
    let svgs = dom.matches("<svg").count();
    if svgs < figures.len() {
        found.push(format!("{svgs} inline SVGs for {} figures", figures.len()));
    }
    for text in texts {
        if !dom.contains(text.as_str()) {
            found.push(format!("{text:?} is not in the page"));
        }
    }
    for attribute in ["src=\"", "href=\"", "url(", "@import"] {
        for (at, _) in dom.match_indices(attribute) {
            let target = &dom[at + attribute.len()..];
            let inside = target.starts_with('#')
                || target.starts_with("data:")
                || target.starts_with("\"data:")
                || target.starts_with("'data:");
            if !inside {
                let end = target.find(['"', ')', ' ']).unwrap_or(target.len().min(60));
                found.push(format!(
                    "a reference outside the page: {attribute}{}",
                    &target[..end]
                ));
            }
        }
    }
    found
}

/// The figure stems of a Markdown report (`![...](figures/<stem>.svg)`).
fn figure_stems(markdown: &str) -> Vec<String> {
    markdown
        .match_indices("](figures/")
        .map(|(at, _)| {
            let rest = &markdown[at + "](figures/".len()..];
            rest[..rest.find(".svg").unwrap()].to_string()
        })
        .collect()
}

/// Checks a report folder's `report.html` against its `report.md`, with `texts` that must be in
/// the page, and that the check fails on a page broken on purpose.
fn check_report(out: &Path, texts: &[String]) {
    let page = out.join("report.html");
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let figures = figure_stems(&markdown);
    assert!(figures.len() >= 3, "{figures:?}");
    let dom = chromium(&page, &["--window-size=1280,1600", "--dump-dom"]);
    let found = problems(&dom, &figures, texts);
    assert!(found.is_empty(), "{}: {found:?}", page.display());

    // The check sees a missing figure and an outside reference (broken copies of the page).
    let html = std::fs::read_to_string(&page).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.html");
    let first = format!("data-figure=\"{}\"", figures[0]);
    std::fs::write(
        &broken,
        html.replacen(&first, "data-figure=\"gone\"", 1)
            .replace("</body>", "<img src=\"https://example.com/x.png\"></body>"),
    )
    .unwrap();
    let broken_dom = chromium(&broken, &["--dump-dom"]);
    let found = problems(&broken_dom, &figures, texts);
    assert!(found.iter().any(|p| p.contains("is missing")), "{found:?}");
    assert!(
        found.iter().any(|p| p.contains("https://example.com")),
        "{found:?}"
    );

    assert_shown_whole(&page, 1280);
    assert_shown_whole(&page, 400);
}

/// The activations and test accuracies of a Markdown table whose first column is the
/// activation and whose `column`-th holds the test accuracy.
fn table_cells(markdown: &str, after: &str, column: usize) -> Vec<String> {
    markdown
        .lines()
        .skip_while(|l| !l.starts_with(after))
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            [cells[1].to_string(), cells[column].to_string()]
        })
        .collect()
}

fn xtask(args: &[&str], out: &Path) -> PathBuf {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("report.html"),
        "the command names its HTML report: {stdout}"
    );
    out.join("report.html")
}

#[test]
#[ignore = "needs chromium (apt-get install chromium) and the Fashion-MNIST files; .ci/run runs it"]
fn the_studys_report_is_one_page_a_browser_shows_whole() {
    let out = tempfile::tempdir().unwrap();
    xtask(&["reproduce", "--quick", "--out"], out.path());
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let texts = table_cells(&markdown, "## Test accuracy", 5);
    assert_eq!(
        texts.len(),
        12,
        "six activations with their accuracies: {texts:?}"
    );
    check_report(out.path(), &texts);
}

#[test]
#[ignore = "needs chromium (apt-get install chromium) and the Fashion-MNIST files; .ci/run runs it"]
fn a_sweeps_report_is_one_page_a_browser_shows_whole() {
    let out = tempfile::tempdir().unwrap();
    xtask(
        &[
            "sweep",
            "--acts",
            "relu,tanh",
            "--seeds",
            "2",
            "--subset",
            "2048",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--out",
        ],
        out.path(),
    );
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    // The interquartile means: plain numbers.
    let texts = table_cells(&markdown, "## Test accuracy per activation", 5);
    assert_eq!(texts.len(), 4, "{texts:?}");
    check_report(out.path(), &texts);
}

#[test]
#[ignore = "needs chromium (apt-get install chromium); .ci/run runs it"]
fn the_committed_results_pages_read_whole_at_1280_px() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results");
    for page in [
        "study",
        "functions",
        "splits",
        "lr",
        "sequential",
        "depth",
        "search",
    ] {
        let out = results.join(page);
        let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
        // The heatmap of the pairwise decisions and the strip chart are on every page, the
        // performance profiles on every page of at most 16 groups (the depth page shows 42),
        // the search's first stage's accuracy against the initial network on its page.
        let figures = figure_stems(&markdown);
        let stems: &[&str] = match page {
            "depth" => &["pairs", "test_accuracy", "depth_gradient_ratio"],
            "search" => &["pairs", "profiles", "test_accuracy", "mechanism_0"],
            _ => &["pairs", "profiles", "test_accuracy"],
        };
        for stem in stems {
            assert!(figures.iter().any(|f| f == stem), "{page}: {figures:?}");
        }
        let texts = table_cells(&markdown, "## Test accuracy per activation", 5);
        assert!(texts.len() >= 12, "{page}: {texts:?}");
        check_report(&out, &texts);
    }
}
