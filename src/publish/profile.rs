//! What a network is, as data: how it counts a text, what images it takes,
//! whether it refuses repeats, whether it has counts to collect. The rest
//! of the bot reads a network's [`Profile`] rather than asking it one flag
//! at a time (apache/opendal's `Capability`): a new rule is a field here,
//! with its default, not a method every network must answer.

use super::app::AppSecret;
use crate::posts::files::ImageKind;
use crate::render::Limits;

/// A network, described.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Its name, for people ("Mastodon", "X").
    pub name: &'static str,
    /// The `kind` values that select it (`mastodon`, `pleroma`…).
    pub kinds: &'static [&'static str],
    /// How it counts a text, and its limits, without asking a server.
    pub limits: Limits,
    /// Where its servers set their own limits (asked by `validate`), what
    /// to say of it where no target is configured yet.
    pub server_limits: Option<&'static str>,
    /// Images per post and bytes per image.
    pub media: MediaRules,
    /// The most a text may be, in UTF-16 code units, to go with an image
    /// (a Telegram photo's caption); `None`: the same as without one.
    pub caption_limit: Option<usize>,
    /// Whether it refuses a text the account posted recently (X,
    /// LinkedIn): `validate` warns when the rotation repeats one too soon.
    pub refuses_repeats: bool,
    /// Whether it has engagement counts to collect.
    pub engagement: Engagement,
    /// What a post with a link costs on it, where that is worth saying.
    pub link_cost: Option<&'static str>,
    /// Whether a target logs in with a user token (`token_env` or
    /// `token_file`, and `token_expires`): the registry reads those keys,
    /// and a publisher opens it with [`super::network::BuildContext::token`].
    pub user_token: bool,
    /// Whether a target may name an OAuth app (`client_id`, …) for its
    /// login and for renewing its token, and whether the app's secret is
    /// required.
    pub app: Option<AppSecret>,
    /// What `login` says to a target that names no app, where it cannot
    /// log in without one; `None`: it checks each target's token instead
    /// (a token made elsewhere).
    pub without_app: Option<&'static str>,
    /// A `[targets.NAME]` table for it, for messages that ask for one.
    pub example: &'static str,
}

/// What images a post may carry on a network: how many, how big, of
/// which formats, and whether it needs one at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRules {
    pub max_images: usize,
    pub max_bytes: u64,
    /// Whether a post needs an image (Instagram: no text-only posts).
    pub required: bool,
    /// The formats it takes, where it does not take all of them
    /// (Instagram: JPEG only).
    pub formats: Option<&'static [ImageKind]>,
}

impl MediaRules {
    /// Four optional images of any format, each as large as a post file
    /// may bring.
    pub const DEFAULT: MediaRules = MediaRules {
        max_images: 4,
        max_bytes: crate::posts::MAX_MEDIA_BYTES,
        required: false,
        formats: None,
    };
}

/// Whether a network's posts have counts the bot can collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engagement {
    /// Likes, reposts and the like, checked at the configured ages.
    Counted,
    /// None, and why (for `report` and `engagement`): no numbers are
    /// invented for it.
    NotCounted(&'static str),
}

impl Profile {
    /// What a network is unless its profile says otherwise: no limit set by
    /// its servers, [`MediaRules::DEFAULT`], no caption rule, no refusal of
    /// repeats, counts collected, no link cost, no app. What each network must say
    /// (name, kinds, limits, example) is empty here; the registry's tests
    /// check that no network leaves them so.
    pub const DEFAULT: Profile = Profile {
        name: "",
        kinds: &[],
        limits: Limits::NONE,
        server_limits: None,
        media: MediaRules::DEFAULT,
        caption_limit: None,
        refuses_repeats: false,
        engagement: Engagement::Counted,
        link_cost: None,
        user_token: false,
        app: None,
        without_app: None,
        example: "",
    };
    /// Whether its posts are checked for engagement.
    pub fn counts_engagement(&self) -> bool {
        self.engagement == Engagement::Counted
    }
    /// Why it has no counts, where it has none.
    pub fn no_engagement_reason(&self) -> Option<&'static str> {
        match self.engagement {
            Engagement::Counted => None,
            Engagement::NotCounted(why) => Some(why),
        }
    }
    /// Its name where no target of it is configured, with what its limits
    /// depend on.
    pub fn unconfigured_name(&self) -> String {
        match self.server_limits {
            Some(note) => format!("{} ({note})", self.name),
            None => self.name.to_string(),
        }
    }
}
