//! Reading files from `posts/` without leaving it. A post file or an image
//! may be a symbolic link (a git checkout, a Kubernetes ConfigMap volume
//! makes them), but the file it leads to must be inside `posts_dir`: a link
//! to `/etc/passwd` or `/run/secrets/…` is refused, never read, never
//! published. The check is made on the file actually opened (its path as
//! the kernel resolved it, from `/proc/self/fd`), so a link swapped between
//! a check and the open cannot slip through. Only regular files are read (a
//! FIFO would block the bot), and never more than a limit.
//!
//! Images are told by their content, not their name: the first bytes must
//! be a PNG, JPEG, GIF or WebP signature and the header must decode to a
//! size.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why a file under `posts/` cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("is a link to {}, outside posts/; the bot reads only files inside posts/ (copy the file in instead)", .0.display())]
    Outside(PathBuf),
    #[error("is not a regular file")]
    NotAFile,
    #[error("is {size} bytes, over the {limit} the bot reads")]
    TooBig { size: u64, limit: u64 },
    #[error("cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// The image formats the networks take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }
}

/// An image's format and size in pixels, read from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub kind: ImageKind,
    pub width: usize,
    pub height: usize,
}

/// What the content of `bytes` is, if it is an image the networks take;
/// otherwise what it looks like, for the message.
pub fn sniff_image(bytes: &[u8]) -> Result<ImageInfo, String> {
    sniff(bytes, bytes.is_empty(), || imagesize::blob_size(bytes))
}

/// What `header` (an image's first bytes) says it is, with its size from
/// `size` (which reads as far into the file as the format needs).
fn sniff(
    header: &[u8],
    empty: bool,
    size: impl FnOnce() -> imagesize::ImageResult<imagesize::ImageSize>,
) -> Result<ImageInfo, String> {
    let kind = match imagesize::image_type(header) {
        Ok(imagesize::ImageType::Png) => ImageKind::Png,
        Ok(imagesize::ImageType::Jpeg) => ImageKind::Jpeg,
        Ok(imagesize::ImageType::Gif) => ImageKind::Gif,
        Ok(imagesize::ImageType::Webp) => ImageKind::Webp,
        Ok(other) => return Err(format!("a {other:?} image, which the networks do not take")),
        Err(_) if empty => return Err("an empty file".into()),
        Err(_) if std::str::from_utf8(&header[..header.len().min(512)]).is_ok() => {
            return Err("text, not an image".into());
        }
        Err(_) => return Err("not an image the bot knows".into()),
    };
    match size() {
        Ok(size) if size.width > 0 && size.height > 0 => Ok(ImageInfo {
            kind,
            width: size.width,
            height: size.height,
        }),
        _ => Err(format!(
            "a damaged {} (its header does not give a size)",
            kind.mime()
        )),
    }
}

/// The image `rel` (inside `root`, at most `limit` bytes), told by its
/// header only: the outer `Err` when the file cannot be read, the inner one
/// when it is not an image the networks take. Ten thousand posts that share
/// a card read its first few KB each, not all of it.
pub fn image_inside(
    root: &Path,
    rel: &Path,
    limit: u64,
) -> Result<Result<ImageInfo, String>, FileError> {
    use std::io::{BufRead, Seek};
    let file = open_inside(root, rel)?;
    let len = regular_within(&file, limit)?;
    let mut reader = std::io::BufReader::with_capacity(8 * 1024, file);
    let header = reader.fill_buf()?.to_vec();
    Ok(sniff(&header, len == 0, || {
        reader.rewind()?;
        imagesize::reader_size(&mut reader)
    }))
}

pub fn root(posts_dir: &Path) -> std::io::Result<PathBuf> {
    posts_dir.canonicalize()
}

/// Reads `rel` (relative to `posts_dir`, whose real path is `root`), at most
/// `limit` bytes, refusing what leads outside `root`.
pub fn read_inside(root: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    read_opened(open_inside(root, rel)?, limit)
}

/// Opens `rel`, refusing what leads outside `root`.
fn open_inside(root: &Path, rel: &Path) -> Result<std::fs::File, FileError> {
    // A FIFO must not block the open.
    open_checked(root, rel, libc::O_NONBLOCK)
}

/// Opens `rel` for reading with `flags`, and refuses it where the file
/// opened (after every link) is not inside `root`.
fn open_checked(root: &Path, rel: &Path, flags: i32) -> Result<std::fs::File, FileError> {
    let path = root.join(rel);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(&path)?;
    let real = opened_path(&file, &path)?;
    if !real.starts_with(root) {
        return Err(FileError::Outside(real));
    }
    Ok(file)
}

/// A folder inside `posts/`, opened once and checked to be inside it, for
/// reading many files from it quickly: each is opened relative to the
/// folder and not followed if it is a link (no path to resolve again, no
/// link to read back). A file that is a link is read the careful way, by
/// [`read_inside`].
pub struct Folder<'r> {
    root: &'r Path,
    rel: PathBuf,
    dir: std::fs::File,
}

impl<'r> Folder<'r> {
    /// Opens `rel` (relative to the real path `root` of `posts/`).
    pub fn open(root: &'r Path, rel: &Path) -> Result<Folder<'r>, FileError> {
        let dir = open_checked(root, rel, libc::O_DIRECTORY)?;
        Ok(Folder {
            root,
            rel: rel.to_path_buf(),
            dir,
        })
    }

    /// Reads the file `name` of this folder, at most `limit` bytes.
    pub fn read(&self, name: &std::ffi::OsStr, limit: u64) -> Result<Vec<u8>, FileError> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.dir, name, flags, Mode::empty()) {
            Ok(fd) => read_opened(std::fs::File::from(fd), limit),
            Err(rustix::io::Errno::LOOP) => read_inside(self.root, &self.rel.join(name), limit),
            Err(e) => Err(FileError::Io(e.into())),
        }
    }
}

/// Reads an opened file, if it is a regular one, at most `limit` bytes.
fn read_opened(file: std::fs::File, limit: u64) -> Result<Vec<u8>, FileError> {
    let len = regular_within(&file, limit)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooBig {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// The length of `file`, if it is a regular file of at most `limit` bytes.
fn regular_within(file: &std::fs::File, limit: u64) -> Result<u64, FileError> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotAFile);
    }
    if meta.len() > limit {
        return Err(FileError::TooBig {
            size: meta.len(),
            limit,
        });
    }
    Ok(meta.len())
}

/// The path of the file the kernel opened.
fn opened_path(file: &std::fs::File, asked: &Path) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    match std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        Ok(p) => Ok(p),
        // No /proc (not Linux): resolve the path instead.
        Err(_) => asked.canonicalize(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];

    #[test]
    fn links_out_of_posts_are_refused_links_inside_are_read() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "token").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("media")).unwrap();
        std::fs::write(dir.path().join("media/real.png"), PNG_1X1).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("media/link.png"),
        )
        .unwrap();
        std::os::unix::fs::symlink("real.png", dir.path().join("media/alias.png")).unwrap();
        let root = root(dir.path()).unwrap();
        match read_inside(&root, Path::new("media/link.png"), 1 << 20) {
            Err(FileError::Outside(p)) => assert!(p.ends_with("secret")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_inside(&root, Path::new("media/alias.png"), 1 << 20).unwrap(),
            PNG_1X1
        );
        assert!(matches!(
            read_inside(&root, Path::new("media/real.png"), 4),
            Err(FileError::TooBig { .. })
        ));
        // The same through a folder opened once.
        let folder = Folder::open(&root, Path::new("media")).unwrap();
        let read = |name: &str, limit| folder.read(std::ffi::OsStr::new(name), limit);
        match read("link.png", 1 << 20) {
            Err(FileError::Outside(p)) => assert!(p.ends_with("secret")),
            other => panic!("{other:?}"),
        }
        assert_eq!(read("alias.png", 1 << 20).unwrap(), PNG_1X1);
        assert_eq!(read("real.png", 1 << 20).unwrap(), PNG_1X1);
        assert!(matches!(read("real.png", 4), Err(FileError::TooBig { .. })));
        assert!(matches!(read("none.png", 4), Err(FileError::Io(_))));
        // A folder that leads out is refused as a whole.
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        assert!(matches!(
            Folder::open(&root, Path::new("out")),
            Err(FileError::Outside(_))
        ));
    }

    #[test]
    fn a_fifo_does_not_block_and_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.toml");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let root = root(dir.path()).unwrap();
        assert!(matches!(
            read_inside(&root, Path::new("x.toml"), 1024),
            Err(FileError::NotAFile)
        ));
    }

    #[test]
    fn images_are_told_by_their_content() {
        let info = sniff_image(PNG_1X1).unwrap();
        assert_eq!((info.kind, info.width, info.height), (ImageKind::Png, 1, 1));
        assert_eq!(
            sniff_image(b"just some text pretending").unwrap_err(),
            "text, not an image"
        );
        assert!(sniff_image(&PNG_1X1[..20]).unwrap_err().contains("damaged"));
    }

    #[test]
    fn an_image_file_is_told_from_its_header_as_from_all_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let card = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/media/campaign-card-en.jpg"),
        )
        .unwrap();
        let files: [(&str, &[u8]); 5] = [
            ("card.jpg", &card),
            ("one.png", PNG_1X1),
            ("cut.png", &PNG_1X1[..20]),
            ("text.png", b"just some text pretending"),
            ("empty.png", b""),
        ];
        for (name, bytes) in files {
            std::fs::write(root.join(name), bytes).unwrap();
            let told = image_inside(&root, Path::new(name), 1 << 20).unwrap();
            assert_eq!(told, sniff_image(bytes), "{name}");
        }
        assert_eq!(sniff_image(b"").unwrap_err(), "an empty file");
        assert!(matches!(
            image_inside(&root, Path::new("card.jpg"), 1000),
            Err(FileError::TooBig { limit: 1000, .. })
        ));
    }
}
