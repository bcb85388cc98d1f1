//! Any bytes as a post file: parsing never panics, and every problem names
//! the file and a line that exists.
#![no_main]

use std::path::Path;

use campaign_bot::model::MessageKind;
use campaign_bot::posts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut problems = Vec::new();
    let rel = Path::new("rotation/fuzz.toml");
    let message = posts::parse(Path::new("/nonexistent-posts"), rel, MessageKind::Rotation, data.to_vec(), &mut problems);
    let lines = data.split(|b| *b == b'\n').count();
    for p in &problems {
        assert!(p.file.ends_with("rotation/fuzz.toml"));
        assert!(p.line <= lines + 1, "{p} points past the end ({lines} lines)");
        assert!(!p.message.is_empty());
    }
    if let Some(m) = message {
        assert!(!m.text.is_empty());
        assert!(m.text.values().all(|t| !t.trim().is_empty()));
    }
});
