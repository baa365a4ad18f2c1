//! Entry point of the wasm binary trunk builds: everything lives in the `portal` library.

fn main() {
    portal::start();
}
