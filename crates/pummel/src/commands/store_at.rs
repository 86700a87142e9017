//! Where a server's store is, from `--data-dir` or `--database`: shared by
//! `pummel server` and the policy's admin commands.

use pummel_server::StoreAt;

use crate::cli::DataDirArgs;
use crate::exit::Failure;

/// The store `init`, `token create`, `user`, `network` and `quota` work on.
pub(super) fn store_at(data: &DataDirArgs) -> Result<StoreAt, Failure> {
    StoreAt::choose(data.data_dir.clone(), data.database.clone())
        .ok_or_else(|| Failure::usage("give --data-dir DIR or --database URL: where the store is"))
}
