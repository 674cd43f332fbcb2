"""Synthesised text: artist names, song titles and random ids, and the word lists and
templates they are composed from.
"""
from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.dtypes import StringDType

from .calibration import _STYLES

_WORD_LISTS = {
    "first": """Adam Alice Amy Ben Billy Bobby Carl Carly Chris Dan Dave Eddie Ella Emma Frank
        Grace Hank Jack Jake James Jane Jimmy Joe John Johnny Josh Julia Kate Kelly Kevin Laura
        Leo Lily Lucy Marc Maria Mark Matt Max Mia Mike Nick Nina Noah Pete Ray Rose Ruby Sam
        Sara Sean Steve Tom Tony Will Zoe Otis Etta Nat Roy Lou Patti Stevie Aretha Marvin Dolly
        Willie Waylon Merle Buddy Chet Miles Duke Billie Ruth Neil Joni Iggy Elvis Dusty Tammy""",
    "last": """Adams Allen Baker Bell Brooks Brown Burke Carter Clark Cole Cooper Davis Dixon
        Evans Fisher Ford Foster Gray Green Hall Harris Hayes Hill Holmes Hughes Jackson Jones
        Kelly King Knight Lane Lewis Long Martin Mason Miller Mitchell Moore Morgan Murphy Nash
        Nelson Owens Parker Perry Price Reed Reyes Rhodes Rogers Ross Shaw Smith Stone Stills
        Taylor Turner Walker Ward Watson West White Wilson Wood Young Cash Haggard Waters Wonder
        Redding Byrne Cohen Drake Gordon Hart Holly Keys Marley Mercer Osborne Palmer Quinn Sloan
        Tate Vance Webb Crosby Petty Springsteen Hendrix""",
    "adj": """Arctic Black Blue Bright Broken Burning Cold Crimson Crystal Dark Dead Deep Digital
        Dirty Electric Empty Endless Eternal Fading Fallen Final Flying Foreign Frozen Gentle
        Glass Golden Gray Green Happy Heavy Hidden High Hollow Holy Hungry Infinite Iron Last
        Lazy Little Lonely Lost Loud Lucky Mad Magic Midnight Modern Neon New Nervous Northern
        Old Open Pale Perfect Pretty Pure Quiet Radio Red Restless Rolling Royal Sacred Savage
        Secret Shining Silent Silver Simple Sleeping Slow Smoking Soft Solid Sonic Southern Stone
        Strange Sweet Tender Thin Twisted Urban Velvet Violent Wild Wicked Wooden Young Bitter
        Cosmic Dusty Faded Gilded Jagged Liquid Mellow Molten Rusty Starry Stormy Sunny""",
    # Nouns with a regular plural, as the templates add "s".
    "noun": """Angel Animal Arrow Beast Bird Bone Bridge Brother Candle Canyon Castle Cloud
        Comet Crow Crown Dancer Dawn Desert Diamond Dog Dragon Dream Drum Eagle Engine Eye Falcon
        Feather Fire Flame Flower Forest Garden Ghost Giant Hammer Harbor Hawk Heart Hill Horse
        Island Jewel Joker King Kitten Knight Lantern Liar Light Lion Machine Mirror Monkey Moon
        Mountain Night Owl Panther Parade Pilot Pistol Planet Prophet Queen Rabbit Raven Rebel
        River Road Rocket Rose Sailor Satellite Seed Shadow Shark Ship Signal Sister Skull
        Sparrow Spider Star Storm Stranger Sun Swan Thunder Tiger Tower Train Traveler Valley
        Vampire Wave Wheel Whisper Window Wing Wonder Bandit Cowboy Drifter Hunter Lover Saint
        Soldier Stone Wizard Zombie Orbit Ocean Cobra Magnet Ribbon""",
    "verb": """Break Burn Call Carry Catch Chase Dance Dream Drive Fall Feel Fight Find Follow
        Forget Hold Hunt Kiss Leave Lose Love Miss Move Need Paint Pray Run Save Say Shake Shine
        Sing Stay Steal Take Touch Wait Walk Want Wake Hide Heal Ride""",
    "adv": """Again Alone Away Forever Home Now Tomorrow Tonight Together Slowly Inside Outside
        Anymore Tonite Softly Tenderly Back Down""",
    "ja_kata": """アンティック エンジェル カメレオン キャンディ クリスタル サンライズ シャドウ スター
        ダイヤモンド ドリーム ネオン ハート バタフライ パレード ファントム ブルー プリズム マジック
        ミラージュ ムーン メロディ ラビリンス リズム ロケット ガーネット シルエット""",
    "ja_kanji": """珈琲店 桜 月光 夜空 星屑 花火 少年 少女 青空 雷 天使 蝶 夢 風 雪 海 虹 鏡 炎
        時計 涙 森 銀河 影 嵐 向日葵 紅 流星""",
    "ja_surname": "浜崎 宇多田 中島 松任谷 椎名 倖田 安室 福山 桑田 山下 竹内 小田 長渕 吉田 坂本 平井",
    "ja_given": "あゆみ ヒカル みゆき 由実 林檎 來未 奈美恵 雅治 佳祐 達郎 まりや 和正 剛 美和 龍一 堅",
    "ru_noun": """Кино Ария Алиса Звери Сплин Пикник Ночь Звезда Город Ветер Солнце Небо Дорога
        Море Весна Зима Любовь Песня Время Мечта Огонь Река Луна Дом Лето Осень Тень Птица
        Свобода Вьюга""",
    # Masculine nouns, so that "{ru_adj} {ru_masc}" agrees in gender.
    "ru_masc": "Город Ветер Дом Огонь Путь Поезд Сад Лес Космос Рассвет Закат Берег Трамвай",
    "ru_adj": """Белый Чёрный Красный Последний Новый Старый Тихий Звёздный Вечный Ночной Северный
        Дикий Золотой Серебряный Железный""",
    "ru_first": "Виктор Борис Юрий Андрей Валерий Илья Дмитрий Максим Сергей Олег Игорь Михаил",
    "ru_last": """Цой Гребенщиков Шевчук Кипелов Макаревич Бутусов Лагутенко Кинчев Леонтьев
        Меладзе Лепс Кузьмин Сукачёв""",
    "el_first": "Γιώργος Νίκος Κώστας Δημήτρης Σάκης Γιάννης Μανώλης Στέλιος Παντελής",
    "el_last": """Νταλάρας Μητροπάνος Ρουβάς Ρέμος Μαραβέγιας Καζαντζίδης Πάριος Χατζηγιάννης
        Παπακωνσταντίνου""",
    "el_word": "Αγάπη Θάλασσα Νύχτα Φεγγάρι Ουρανός Καρδιά Όνειρο Αστέρι Ήλιος Βροχή Τρύπες",
    "ko_last": "김 이 박 최 정 강 조 윤",
    "ko_given": "지민 서연 민준 하늘 수진 태양 보아 은지 현우 소라",
    "ko_word": "하늘 바람 별 사랑 꿈 밤 노래 눈물 봄 바다",
    "zh_last": "周 王 陈 林 李 张 刘 蔡",
    "zh_given": "杰伦 菲 奕迅 俊杰 宇春 学友 依林 慧",
    "zh_word": "月亮 夜曲 青花瓷 晴天 星空 红豆 江南 童话 蓝莲花 光年",
    "es_first": """José Juan Luis María Carmen Ana Pablo Diego Jorge Lucía Sofía Rocío Raúl
        Andrés Ramón Joaquín Mercedes Celia Héctor Tomás""",
    "es_last": """García Martínez López González Rodríguez Fernández Sánchez Pérez Gómez Díaz
        Ortega Romero Navarro Muñoz Peña Cruz Vargas Castillo Ríos Morales""",
    "es_band": "Lobos Tigres Caballeros Bravos Prisioneros Fabulosos Hermanos Piratas Enanitos Chicos",
    "es_word": """Corazón Amor Noche Luna Fuego Vida Sueño Mar Cielo Camino Beso Lágrima
        Baile Querida Olvido Canción Alma Tierra""",
    "eu_first": """Françoise Jérôme Hélène Benoît Zoé Björn Sören Jörg Jürgen Åsa Øystein Mikaël
        Léa Anaïs Günter Åke Göran Márta Lukáš Agnès""",
    "eu_last": """Dupont Müller Schäfer Björklund Ångström Lindqvist Sørensen Dvořák Nowak Lefèvre
        Bécaud Öberg Grönholm Kovačić Hübner Jönsson Fåhræus Mortensen""",
    "de_band": "Ärzte Prinzen Sterne Wölfe Träume Höhlen Brücken Zöllner Türen Fünf",
    "fr_band": "Rois Étoiles Lumières Chats Fous Anges Rêveurs Enfants Oiseaux Frères",
    "nordic": "Rós Sigur Mínus Hjarta Ljós Myrkur Vår Själ Ström Ödla Himmel Ørn Fjäll Kaizers",
    "eu_title": """Été Mädchen Hjartað Élégie Sehnsucht Liebe Rêverie Fernweh Kärlek Ensamhet
        Sommar Nuit Château Frühling Glück Hafen Ljós Fjäril""",
}
_WORDS = {key: np.array(text.split(), dtype=StringDType()) for key, text in _WORD_LISTS.items()}
_WORDS["noun_lower"] = np.strings.lower(_WORDS["noun"])

# (weight, template) per writing system; {key} draws a word from _WORD_LISTS.
_ARTIST_TEMPLATES = {
    "en": (
        (14, "The {noun}s"), (12, "The {adj} {noun}s"), (20, "{first} {last}"),
        (4, "{first} {last} & The {noun}s"), (10, "{adj} {noun}"), (6, "{noun}{noun_lower}"),
        (3, "DJ {first}"), (2, "MC {adj}"), (2, "Lil' {noun}"), (3, "{last}, {last} & {last}"),
        (2, '{first} "{adj}" {last}'), (4, "{noun}s of the {adj} {noun}"),
        (3, "{first} {last} Band"), (3, "{adj} {noun} Orchestra"), (4, "{adj}{noun_lower}"),
        (2, "{last} & {last}"), (2, "{noun} + {noun}"),
    ),
    "ja": (
        (3, "{ja_kata}-{ja_kanji}-"), (4, "{ja_surname}{ja_given}"), (3, "{ja_kata}{ja_kata}"),
        (2, "{ja_kanji}{ja_kata}"), (1, "{adj} {ja_kata}"),
    ),
    "ru": (
        (4, "{ru_noun}"), (4, "{ru_first} {ru_last}"), (3, "{ru_adj} {ru_masc}"),
        (2, "{ru_noun} и {ru_noun}"), (1, "Группа {ru_noun}"),
    ),
    "el": ((3, "{el_first} {el_last}"), (1, "{el_word}")),
    "ko": ((3, "{ko_last}{ko_given}"), (1, "{ko_word}"), (1, "{ko_word}{ko_word}")),
    "zh": ((3, "{zh_last}{zh_given}"), (1, "{zh_word}")),
    "es": (
        (5, "{es_first} {es_last}"), (2, "{es_first} {es_last} y su Orquesta"),
        (3, "Los {es_band}"), (2, "{es_first} y {es_first}"), (1, "Los {es_band} de {es_last}"),
    ),
    "eu": (
        (5, "{eu_first} {eu_last}"), (2, "Die {de_band}"), (2, "Les {fr_band}"),
        (2, "{nordic} {nordic}"), (1, "{eu_last}"),
    ),
}
_TITLE_TEMPLATES = {
    "en": (
        (16, "{adj} {noun}"), (12, "{noun}"), (5, "{verb} Me {adv}"), (6, "{verb} the {noun}"),
        (2, "Mr. {adj}"), (4, "{noun} of the {noun}s"), (4, "I {verb} You"),
        (3, "{noun}, {noun}"), (2, "{verb}, {verb}, {verb}"), (2, '"{adj} {noun}"'),
        (2, "The {noun}'s {noun}"), (3, "{adj} {noun}s"), (2, "{verb} ({adv})"),
        (3, "{verb} {adv}"), (2, "{noun} Song"), (1, "{noun} in the {noun}"),
    ),
    "ja": ((3, "{ja_kanji}"), (2, "{ja_kanji}の{ja_kanji}"), (2, "{ja_kata}"),
           (1, "{ja_kanji}{ja_kata}")),
    "ru": ((3, "{ru_noun}"), (2, "{ru_adj} {ru_masc}"), (1, "{ru_noun} и {ru_noun}")),
    "el": ((1, "{el_word}"),),
    "ko": ((2, "{ko_word}"), (1, "{ko_word} {ko_word}")),
    "zh": ((1, "{zh_word}"),),
    "es": ((3, "{es_word}"), (2, "{es_word} de {es_word}"), (2, "Mi {es_word}"),
           (1, "¿{es_word}?")),
    "eu": ((3, "{eu_title}"), (1, "{eu_title} ({adj} Mix)")),
}
# Version markers appended to some titles; the first three mark live recordings.
_TITLE_SUFFIXES = np.array(
    [" (Live)", " - Live", " [Live]", " (Remastered)", " (Album Version)", " [Demo]",
     " (Acoustic)", " (Remix)", " (Radio Edit)", "*", " [Bonus Track]", " (Reprise)"],
    dtype=StringDType(),
)
_LIVE_SUFFIXES = 3
_TITLE_SUFFIX_SHARE = 0.08
_SCRIPTS = tuple(_ARTIST_TEMPLATES)
# Artists outside their style's usual script: covers, expats, international acts.
_FOREIGN_ARTIST_SHARE = 0.08
_FOREIGN_SCRIPT_WEIGHTS = {
    "en": 0.45, "eu": 0.15, "es": 0.12, "ja": 0.08, "ru": 0.07, "el": 0.04, "ko": 0.05, "zh": 0.04,
}
# Artists in another script who still title songs in English.
_ENGLISH_TITLE_SHARE = 0.25
_MAX_RENAME_ROUNDS = 30

_UPPER_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = b"0123456789abcdef"
_PREVIEW_PREFIX = b"https://p.scdn.co/mp3-preview/"


def _draw_artist_scripts(rng, artist_style):
    style_script = np.array([_SCRIPTS.index(style.script) for style in _STYLES])
    script = style_script[artist_style]
    foreign = rng.random(len(script)) < _FOREIGN_ARTIST_SHARE
    weights = np.array([_FOREIGN_SCRIPT_WEIGHTS[name] for name in _SCRIPTS])
    script[foreign] = rng.choice(len(_SCRIPTS), size=foreign.sum(), p=weights / weights.sum())
    return script


def _unique_artist_names(rng, artist_script):
    """One distinct name per artist, in the artist's writing system."""
    names = _compose_by_script(rng, _ARTIST_TEMPLATES, artist_script)
    for _ in range(_MAX_RENAME_ROUNDS):
        repeated = pd.Series(names).duplicated().to_numpy()
        if not repeated.any():
            return names
        names[repeated] = _compose_by_script(rng, _ARTIST_TEMPLATES, artist_script[repeated])
    # Small scripts can run out of combinations; numbering keeps names distinct.
    repeated = np.flatnonzero(pd.Series(names).duplicated().to_numpy())
    names[repeated] = np.strings.add(np.strings.add(names[repeated], " "), repeated.astype(str))
    return names


def _draw_song_names(rng, track_script):
    """Song titles, and whether each one names a live recording."""
    english = rng.random(len(track_script)) < _ENGLISH_TITLE_SHARE
    title_script = np.where(english, _SCRIPTS.index("en"), track_script)
    names = _compose_by_script(rng, _TITLE_TEMPLATES, title_script)
    versioned = np.flatnonzero(rng.random(len(names)) < _TITLE_SUFFIX_SHARE)
    suffix = rng.integers(len(_TITLE_SUFFIXES), size=len(versioned))
    names[versioned] = np.strings.add(names[versioned], _TITLE_SUFFIXES[suffix])
    live = np.zeros(len(names), dtype=bool)
    live[versioned[suffix < _LIVE_SUFFIXES]] = True
    return names, live


def _compose_by_script(rng, templates_by_script, script):
    """Fill, for each row, a template of that row's writing system."""
    text = np.empty(len(script), dtype=StringDType())
    for code, name in enumerate(_SCRIPTS):
        rows = np.flatnonzero(script == code)
        text[rows] = _compose(rng, templates_by_script[name], len(rows))
    return text


def _compose(rng, templates, n):
    """Draw a template per row by weight and fill its ``{word-list}`` fields."""
    weights = np.array([weight for weight, _ in templates], dtype=float)
    choice = rng.choice(len(templates), size=n, p=weights / weights.sum())
    text = np.empty(n, dtype=StringDType())
    for index, (_, template) in enumerate(templates):
        rows = np.flatnonzero(choice == index)
        filled = np.full(len(rows), "", dtype=StringDType())
        for literal, field, _, _ in string.Formatter().parse(template):
            filled = np.strings.add(filled, literal)
            if field is not None:
                words = _WORDS[field]
                filled = np.strings.add(filled, words[rng.integers(len(words), size=len(rows))])
        text[rows] = filled
    return text


def _random_codes(rng, n, length, alphabet):
    """``n`` distinct random codes of ``length`` characters, as a bytes array."""
    lookup = np.frombuffer(alphabet, dtype=np.uint8)
    chars = lookup[rng.integers(len(lookup), size=(n, length), dtype=np.uint8)]
    while True:
        # Distinct 8-character prefixes imply distinct codes, and prefixes compare
        # cheaply as one uint64 each.
        prefix = np.ascontiguousarray(chars[:, :8]).view(np.uint64).ravel()
        repeated = pd.Series(prefix).duplicated().to_numpy()
        if not repeated.any():
            return chars.view(f"S{length}").ravel()
        chars[repeated] = lookup[rng.integers(len(lookup), size=(repeated.sum(), length), dtype=np.uint8)]


def _as_text(values):
    """A pandas ``str`` column (NaN for missing) from bytes, numpy strings or objects."""
    if values.dtype.kind == "S":
        # Arrow decodes ASCII ids ~20x faster than numpy's string casts.
        return pa.array(values).cast(pa.string()).to_pandas()
    return pd.Series(values, dtype="str")
