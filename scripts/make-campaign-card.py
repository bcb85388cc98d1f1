#!/usr/bin/env python3
"""Draws posts/media/wetogether-card.png, the campaign card the bot attaches.

Made by the project (no third-party artwork): coloured bands for the three
languages of the campaign and the campaign's words in DejaVu Sans.
Needs Pillow (pip install pillow). Run from the repository root.
"""
from PIL import Image, ImageDraw, ImageFont

W, H = 1200, 675  # 16:9, what Mastodon and Bluesky show uncropped
img = Image.new("RGB", (W, H), (14, 59, 92))
d = ImageDraw.Draw(img)
# Three bands: one per language of the campaign (en, fr, ar).
for i, colour in enumerate([(242, 169, 0), (0, 158, 115), (213, 94, 0)]):
    d.rectangle([0, H - 60 + i * 20, W, H - 40 + i * 20], fill=colour)
# Circles of many colours joining: people and cities together.
for i, colour in enumerate([(242, 169, 0), (0, 158, 115), (213, 94, 0), (86, 180, 233), (204, 121, 167)]):
    x = 800 + i * 55
    d.ellipse([x, 120, x + 160, 280], outline=colour, width=10)

font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
regular = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
big, mid, small = ImageFont.truetype(font, 74), ImageFont.truetype(font, 44), ImageFont.truetype(regular, 34)
d.text((70, 90), "#WeTogether", font=big, fill="white")
d.text((70, 180), "#Cities4Migration", font=big, fill="white")
d.text((70, 330), "Migration makes cities grow;", font=mid, fill=(242, 169, 0))
d.text((70, 390), "cities make migration work.", font=mid, fill=(242, 169, 0))
d.text((70, 490), "International Migrants Day · 18 December", font=small, fill="white")
d.text((70, 540), "Journée internationale des migrants", font=small, fill=(200, 220, 235))
img.save("posts/media/wetogether-card.png", optimize=True)
print("posts/media/wetogether-card.png", img.size)
