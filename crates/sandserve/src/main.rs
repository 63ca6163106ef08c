//! The `sandserve` command; everything it does is in [`sandserve::cli`].

fn main() -> std::process::ExitCode {
    sandserve::cli::main()
}
