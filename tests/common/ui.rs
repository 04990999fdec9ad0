//! What the app's last frame put on the clipboard.
#![allow(dead_code)]

/// The texts the frame's output asks the platform to copy.
pub fn copied(output: &egui::FullOutput) -> Vec<String> {
    output
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}
