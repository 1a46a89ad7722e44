//! `wxpay`: the server and its helpers. See `wxpay --help`.

fn main() -> std::process::ExitCode {
    wxpay_server::ops::cli::main()
}
