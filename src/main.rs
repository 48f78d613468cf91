//! Launcher: parse the command line and hand over to the library.

use clap::Parser;

// `--features system-alloc` keeps the system allocator, so heap profilers that hook malloc
// (heaptrack) see every allocation.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    install_panic_hook();
    let cli = autosec::cli::Cli::parse();
    match autosec::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        // A closed pipe (`autosec alerts | head`) is the reader's choice, not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", autosec::sanitize::visible(&format!("{e:#}")));
            std::process::ExitCode::from(1)
        }
    }
}

/// Whatever panics, the terminal is given back (raw mode off, main screen) before the report
/// is printed, and the report is sanitised like every other output (a panic message can
/// quote log content).
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if ratatui::crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
            ratatui::restore();
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned());
        match message {
            Some(m) => {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                eprintln!("autosec panicked{at}: {}", autosec::sanitize::visible(&m));
            }
            None => default(info),
        }
    }));
}
