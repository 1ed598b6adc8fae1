//! Writes a small event file into the folder given as the first argument.
use actfn_tensorboard::{EventWriter, HParam};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("give a folder")?;
    let mut w = EventWriter::create(std::path::Path::new(&dir))?;
    w.hparams(
        &[
            ("lr", HParam::Number(0.01)),
            ("act", HParam::Text("relu".into())),
        ],
        &["test/accuracy"],
    )?;
    for e in 1..=3 {
        w.scalar("val/acc", e, 0.5 + e as f64 / 10.0)?;
        w.histogram("act/l1", e, &[1.0, 2.0, 3.0, 4.0])?;
    }
    w.text("config", 0, "{\"lr\": 0.01}")?;
    w.scalar("test/accuracy", 3, 0.88)?;
    w.hparams_end()?;
    w.flush()?;
    Ok(())
}
