//! Named, independent random streams derived from the one seed.
//!
//! Why this module exists: "same seed ⇒ same bytes" must survive changes elsewhere. Giving
//! each purpose (the calendar, the chain-level allocation, each store's attributes, each
//! store's days, the quirks) its own ChaCha stream means that, for example, switching quirks
//! off or changing an effect size does not shift any other draw: the clean and the quirky
//! chain have the same sales on every day they share.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The purposes that draw random numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The promo schedule.
    Calendar,
    /// Chain-level allocation of types, states, special stores.
    Allocation,
    /// One store's attributes.
    StoreAttributes(u16),
    /// One store's daily noise.
    StoreDays(u16),
    /// The data quirks.
    Quirks,
}

/// The ChaCha8 stream of `purpose` under `seed`.
pub(crate) fn stream(seed: u64, purpose: Stream) -> ChaCha8Rng {
    let id = match purpose {
        Stream::Calendar => 1,
        Stream::Allocation => 2,
        Stream::Quirks => 3,
        Stream::StoreAttributes(s) => 0x1_0000 + u64::from(s),
        Stream::StoreDays(s) => 0x2_0000 + u64::from(s),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}
