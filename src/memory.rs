//! Giving memory back before a long sleep.
//!
//! A daemon that posts a few times a day spends nearly all its life asleep,
//! but keeps resident what its start-up and its last burst (a reload of
//! `posts/`, a slot on hundreds of targets) touched: measured at idle on the
//! shipped posts, 12 of its 15 MiB were pages of its own program (code and
//! tables used once, to read the configuration and validate the posts), and
//! the allocator keeps freed heap for later. [`give_back`] returns both:
//! - the heap the allocator holds free (glibc's `malloc_trim`);
//! - the program's own read-only pages (`madvise(MADV_PAGEOUT)` on the
//!   executable's mappings that cannot be written). Their contents are the
//!   file's, so nothing is lost: what the daemon runs next is read back from
//!   the page cache, or from the file, as the kernel would do anyway under
//!   memory pressure. Pages shared with another process stay.
//!
//! Both are advice: where they are not available (another C library, an
//! older kernel) nothing happens.

/// What [`give_back`] returned, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GivenBack {
    /// Resident memory before and after, KiB (0 where /proc is not there).
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

/// Returns the free heap and the program's read-only pages to the system.
pub fn give_back() -> GivenBack {
    let rss_before_kib = resident_kib();
    trim_heap();
    page_out_program();
    GivenBack {
        rss_before_kib,
        rss_after_kib: resident_kib(),
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

#[cfg(target_os = "linux")]
fn page_out_program() {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for (start, end) in read_only_ranges(&maps, &exe.to_string_lossy()) {
        // SAFETY: the range is a whole mapping of our own executable that
        // cannot be written; MADV_PAGEOUT keeps its contents (they are
        // read again from the file on the next access).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn page_out_program() {}

/// The address ranges of `exe`'s mappings that are not writable, from a
/// `/proc/PID/maps` listing.
fn read_only_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            // A program replaced on disk shows " (deleted)" and is left alone.
            if !line.trim_end().ends_with(exe) || perms.contains('w') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

/// This process's resident memory, KiB.
pub fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_programs_unwritable_mappings_are_paged_out() {
        let maps = "\
55d0c0000000-55d0c0100000 r--p 00000000 08:01 42 /usr/local/bin/campaign-bot
55d0c0100000-55d0c0900000 r-xp 00100000 08:01 42 /usr/local/bin/campaign-bot
55d0c0900000-55d0c0a00000 rw-p 00900000 08:01 42 /usr/local/bin/campaign-bot
5600c0000000-5600c0100000 r-xp 00100000 08:01 43 /usr/local/bin/campaign-bot (deleted)
55d0c1000000-55d0c2000000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000100000 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
";
        assert_eq!(
            read_only_ranges(maps, "/usr/local/bin/campaign-bot"),
            vec![
                (0x55d0c0000000, 0x55d0c0100000),
                (0x55d0c0100000, 0x55d0c0900000)
            ]
        );
    }
}
