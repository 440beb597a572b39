#!/usr/bin/env python3
"""Builds models/corpora/<language>.txt, the language samples `xlmr trim --languages` trims on, from the gettext
catalogs Debian installs (/usr/share/locale/<language>/LC_MESSAGES/<package>.mo): the translated messages of a few
packages (PACKAGES), split into lines, without format directives and markup, deduplicated, 20-160 characters, at most 400
lines per language in a fixed pseudo-random order (sha256 of the line). Reproducible on a Debian 12 machine with
those packages installed:

    python3 scripts/make-corpora.py [--out models/corpora]

models/corpora/README.md names the packages and their licences (the translations are under each package's)."""
import argparse, gettext, hashlib, os, re

PACKAGES = ['coreutils', 'tar', 'grep', 'sed', 'bash', 'apt', 'dpkg', 'libc', 'iso_3166-1', 'gtk30']
LANGUAGES = ['ar', 'de', 'el', 'es', 'fr', 'he', 'hi', 'it', 'ja', 'ko', 'pt', 'ru', 'th', 'tr', 'uk', 'vi', 'zh_CN']
LATIN = {'de', 'es', 'fr', 'it', 'pt', 'tr', 'vi'}
MAX_LINES = 400
FORMAT = re.compile(r"%(\d+\$)?[-+ #0']*\d*(\.\d+)?(hh|h|ll|l|L|z|j|t)?[diouxXeEfgGcspn%]|\$\{?\w+\}?|<[^>]*>|_(?=\w)")


def lines_of(language):
    seen, out = set(), []
    for package in PACKAGES:
        path = f'/usr/share/locale/{language}/LC_MESSAGES/{package}.mo'
        if not os.path.exists(path):
            continue
        with open(path, 'rb') as f:
            catalog = gettext.GNUTranslations(f)._catalog
        for key, text in catalog.items():
            if not key or not isinstance(text, str):
                continue
            for line in text.split('\n'):
                line = ' '.join(FORMAT.sub('', line).split()).strip(' :;,-')
                # an untranslated (ASCII) message in a language of another script is English, not a sample
                if 20 <= len(line) <= 160 and line not in seen and (language in LATIN or not line.isascii()):
                    seen.add(line)
                    out.append(line)
    out.sort(key=lambda l: hashlib.sha256(l.encode()).hexdigest())
    return out[:MAX_LINES]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'models', 'corpora'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for language in LANGUAGES:
        lines = lines_of(language)
        with open(os.path.join(args.out, f'{language}.txt'), 'w', encoding='utf-8') as f:
            f.write(''.join(l + '\n' for l in lines))
        print(language, len(lines))


if __name__ == '__main__':
    main()
