#!/usr/bin/env python3
"""Draws the campaign's cards in posts/media/, one per language:

  campaign-card-{en,fr,ar}.jpg      undated: for the evergreen messages
  migrants-day-card-{en,fr,ar}.jpg  International Migrants Day, 18 December

Made by the project (no third-party artwork): five overlapping rings and
three bands (one per language of the campaign), the campaign's hashtags and
its slogan in each language's own words. Arabic is shaped and laid out right
to left (Pillow with libraqm), and the Arabic cards are mirrored: text on the
right, rings on the left. Text stays inside its own box, clear of the
artwork, and every colour of text is checked against the background for a
contrast of at least 4.5:1 (WCAG AA).

Needs Pillow built with libraqm (`pip install pillow` brings it) and the
Noto fonts (Debian: fonts-noto-core). Run from the repository root:
    python3 scripts/make-campaign-cards.py
"""
import sys
from PIL import Image, ImageDraw, ImageFont, features

if not features.check("raqm"):
    sys.exit("Pillow lacks libraqm: Arabic would come out unshaped; install a Pillow with raqm")

W, H = 1200, 675  # 16:9: what Mastodon and Bluesky show uncropped
BG = (14, 59, 92)
WHITE = (255, 255, 255)
YELLOW = (242, 169, 0)
PALE = (200, 220, 235)
BANDS = [(242, 169, 0), (0, 158, 115), (213, 94, 0)]
RINGS = [(242, 169, 0), (0, 158, 115), (213, 94, 0), (86, 180, 233), (204, 121, 167)]
NOTO = "/usr/share/fonts/truetype/noto/"
LATIN_BOLD, LATIN = NOTO + "NotoSans-Bold.ttf", NOTO + "NotoSans-Regular.ttf"
ARABIC_BOLD, ARABIC = NOTO + "NotoSansArabic-Bold.ttf", NOTO + "NotoSansArabic-Regular.ttf"

# The slogan, one clause a line (a long clause wraps within its box).
SLOGAN = {
    "en": ("Migration makes cities grow;", "cities make migration work."),
    "fr": ("Les migrations font grandir les villes\u202f;", "les villes font des migrations une réussite."),
    "ar": ("الهجرة تُنمّي المدن،", "والمدن تصنع نجاح الهجرة."),
}
# The day's name, then its date on a line of its own.
DAY = {
    "en": ("International Migrants Day", "18 December"),
    "fr": ("Journée internationale des migrants", "18 décembre"),
    "ar": ("اليوم الدولي للمهاجرين", "18 ديسمبر"),
}


def luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


for colour in (WHITE, YELLOW, PALE):
    assert contrast(colour, BG) >= 4.5, (colour, contrast(colour, BG))


def wrap(draw, text, font, width, rtl):
    """Lines of `text` no wider than `width` (words kept whole)."""
    words, lines, line = text.split(" "), [], ""
    for w in words:
        trial = f"{line} {w}".strip()
        if draw.textlength(trial, font=font, direction="rtl" if rtl else None) <= width:
            line = trial
        else:
            lines.append(line)
            line = w
    lines.append(line)
    return lines


def card(lang, dated):
    rtl = lang == "ar"
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    # Artwork: bands along the bottom, rings on the side away from the text.
    for i, colour in enumerate(BANDS):
        d.rectangle([0, H - 60 + i * 20, W, H - 40 + i * 20], fill=colour)
    ring, step = 150, 52
    rings_x = 40 if rtl else W - 40 - ring - 4 * step
    for i, colour in enumerate(RINGS):
        x = rings_x + i * step
        d.ellipse([x, 70, x + ring, 70 + ring], outline=colour, width=10)
    art = (rings_x - 30, 40, rings_x + 4 * step + ring + 30, 70 + ring + 20)  # kept clear
    # Text boxes: beside the rings while level with them, the whole width
    # below them; above the bands.
    beside = (art[2] + 30, W - 70) if rtl else (70, art[0] - 30)
    below = (70, W - 70)
    tags = ImageFont.truetype(LATIN_BOLD, 64)
    words_font = ImageFont.truetype(ARABIC_BOLD if rtl else LATIN_BOLD, 44)
    small = ImageFont.truetype(ARABIC if rtl else LATIN, 32)
    y = 70
    drawn = []

    def box():
        return below if y > art[3] else beside

    def put(text, font, fill, step, direction=None, language=None):
        nonlocal y
        left, right = box()
        x, anchor = (right, "ra") if rtl else (left, "la")
        d.text((x, y), text, font=font, fill=fill, anchor=anchor, direction=direction, language=language)
        bbox = d.textbbox((x, y), text, font=font, anchor=anchor, direction=direction, language=language)
        drawn.append((bbox, (left, right)))
        y += step

    def lines(text, font):
        left, right = box()
        return wrap(d, text, font, right - left, rtl)

    # The hashtags are Latin on every card, left to right.
    for tag in ("#WeTogether", "#Cities4Migration"):
        put(tag, tags, WHITE, 80, direction="ltr", language="en")
    y += 36
    direction, language = ("rtl", "ar") if rtl else (None, lang)
    for clause in SLOGAN[lang]:
        for line in lines(clause, words_font):
            put(line, words_font, YELLOW, 62, direction=direction, language=language)
    if dated:
        y += 24
        for part in DAY[lang]:
            for line in lines(part, small):
                put(line, small, PALE, 46, direction=direction, language=language)
    # Every line inside its box: clear of the rings and of the bands.
    for (l, t, r, b), (box_left, box_right) in drawn:
        assert box_left - 4 <= l and r <= box_right + 4, (lang, dated, (l, t, r, b))
        assert b < H - 70, (lang, dated, "text runs into the bands")
        overlaps_art = not (r < art[0] or l > art[2] or b < art[1] or t > art[3])
        assert not overlaps_art, (lang, dated, "text runs into the rings")
    # JPEG, the one format every network takes (Instagram takes no other),
    # at a quality and without chroma subsampling, so the text stays crisp.
    name = f"posts/media/{'migrants-day' if dated else 'campaign'}-card-{lang}.jpg"
    img.save(name, quality=92, subsampling=0, optimize=True)
    print(name, img.size)


for dated in (False, True):
    for lang in ("en", "fr", "ar"):
        card(lang, dated)
