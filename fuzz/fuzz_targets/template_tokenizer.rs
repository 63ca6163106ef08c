//! The template tokenizer never panics and always makes progress.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandserve::testing::{tokenize, Token};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tokens = tokenize(text);
    let consumed: usize = tokens
        .iter()
        .map(|t| match t {
            Token::Assign(s) => s.len() + 1,
            Token::Name(s) => s.len(),
            Token::Index(s) => s.len() + 2,
            Token::Args(a) => a.iter().map(String::len).sum::<usize>() + 2,
        })
        .sum();
    assert!(consumed <= text.len());
});
