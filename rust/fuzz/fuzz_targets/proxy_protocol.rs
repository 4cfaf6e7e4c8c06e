//! The PROXY protocol header parser (`proxy_protocol::parse`): no panic, and its verdicts hang
//! together over the prefixes of one input: a prefix needs more (at least one byte more than
//! it has, never more than the longest header) until a final verdict, which every longer
//! prefix repeats; a complete header's bytes alone give the same verdict (what follows it is
//! not read); an address it reports as text reads back as itself.
//!
//! Input: the bytes at the start of a connection.

#![no_main]

use _parser::proxy_protocol::{format_ipv6, parse, parse_ipv4, parse_ipv6, Endpoint, Verdict};
use libfuzzer_sys::fuzz_target;

/// The longest header: 16 fixed bytes and a 16-bit length.
const LONGEST: usize = 16 + 65535;
/// Every prefix is parsed for inputs up to this size; longer ones sample prefixes.
const ALL_PREFIXES_MAX: usize = 512;

fn endpoint_reads_back(endpoint: &Endpoint) {
    let host = endpoint.host();
    match endpoint {
        Endpoint::V4(octets, _) => assert_eq!(parse_ipv4(host.as_bytes()), Some(*octets), "{host}"),
        Endpoint::V6(octets, _) => {
            assert_eq!(parse_ipv6(host.as_bytes()), Some(*octets), "{host}");
            assert_eq!(format_ipv6(octets), host);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = parse(data);
    match &whole {
        Verdict::NeedMore(at_least) => assert!(*at_least > data.len() && *at_least <= LONGEST, "need {at_least}"),
        Verdict::Done { consumed, addresses } => {
            assert!(*consumed <= data.len() && *consumed > 0);
            assert_eq!(parse(&data[..*consumed]), whole, "the bytes after the header were read");
            if let Some((source, destination)) = addresses {
                endpoint_reads_back(source);
                endpoint_reads_back(destination);
            }
        }
        Verdict::Invalid(_) => {}
    }
    let step = if data.len() <= ALL_PREFIXES_MAX { 1 } else { data.len() / 64 };
    let mut settled: Option<Verdict> = None;
    for cut in (0..=data.len()).step_by(step).chain([data.len()]) {
        let verdict = parse(&data[..cut]);
        match (&settled, &verdict) {
            (Some(first), _) => assert_eq!(&verdict, first, "prefix of {cut} bytes changed a final verdict"),
            (None, Verdict::NeedMore(at_least)) => assert!(*at_least > cut, "prefix of {cut} needs {at_least}"),
            (None, _) => settled = Some(verdict),
        }
    }
});
