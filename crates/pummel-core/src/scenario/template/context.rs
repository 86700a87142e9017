//! What a template reads while rendering: the slots of a virtual user's
//! state, through a [`Context`].

/// The slot of a variable or capture in a virtual user's state. Slots are
/// numbered per plan (see `Plan::vars`), so a VU's state is a vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct VarId(pub u32);

impl VarId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a template reads while rendering: the running virtual user's state.
pub(crate) trait Context {
    /// The value of a variable or capture, `None` when not (yet) set.
    fn var(&self, id: VarId) -> Option<&str>;
    /// A field of the current row of a data feeder.
    fn field(&self, feeder: usize, column: usize) -> Option<&str>;
    /// The virtual user's number (1-based; 0 in the global setup).
    fn vu(&self) -> u64;
    /// The VU's iteration number (0-based).
    fn iteration(&self) -> u64;
    /// The status of the last response in this iteration (0 when that
    /// request got no response); `None` before the first request.
    fn status(&self) -> Option<u16> {
        None
    }
}

/// A context with nothing in it, for tests of templates that need nothing.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EmptyContext;

#[cfg(test)]
impl Context for EmptyContext {
    fn var(&self, _: VarId) -> Option<&str> {
        None
    }
    fn field(&self, _: usize, _: usize) -> Option<&str> {
        None
    }
    fn vu(&self) -> u64 {
        0
    }
    fn iteration(&self) -> u64 {
        0
    }
}
