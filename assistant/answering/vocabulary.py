"""What the indexed text contains, and how telling a word is in general Chinese.

Shared by question analysis (is this word a place? do the sources write this pinyin
name?) and evidence (how much does a sentence cover?), so it sits below both.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
import weakref

from .. import config
from ..lexical import normalise_query_text, segment
from ..retrieval import Retriever
from ..sentences import normalise_with_origin

CJK = re.compile(r"[\u3400-\u9fff]")


class Vocabulary:
    """What the indexed text contains, and how telling each question word is.

    A word's weight is its surprisal in general Chinese (jieba's dictionary frequencies),
    not in our corpus: "大概" or "一共" say little about any question, while "深圳" or
    "票价" name exactly what is asked — if the sources never mention it, they cannot
    answer.
    """

    def __init__(self, retriever: Retriever):
        import jieba

        segment("")  # initialises jieba's dictionary
        self.freq = jieba.dt.FREQ
        self.total = jieba.dt.total
        # Each document normalised once, with its offset map: answering cuts candidate text
        # from these, and the whole corpus is searched as one text.
        self._normalised = {d: normalise_with_origin(doc.text) for d, doc in retriever.documents.items()}
        self.all_text = "\n".join(norm for norm, _ in self._normalised.values())
        self._titles = {d: normalise_query_text(doc.title) for d, doc in retriever.documents.items()}
        self.bm25_vocab = retriever.data.bm25.vocab_dict
        self._mentions: dict[str, bool] = {}
        self._places: dict[str, bool] = {}
        self._tags: dict[str, str] | None = None
        self._readings: dict[str, set[str]] | None = None  # pinyin syllable -> characters

    def weight(self, term: str) -> float:
        """Surprisal above that of everyday words; a word jieba only guessed (not in its
        dictionary, e.g. 挤进, 多派) weighs what its characters weigh on average. A verb
        weighs half: residents paraphrase what happened (采访 for 见证, 担任 for a title)
        far more often than the thing it happened to."""
        if term not in self.freq and len(term) > 1 and CJK.match(term):
            return sum(self.weight(ch) for ch in term) / len(term)
        settings = config.ANSWERING
        surprisal = -math.log((self.freq.get(term, 0) + 1) / self.total)
        if re.fullmatch(r"[a-z]{4,}", term) and term not in self.freq:
            return settings.untranslated_weight  # a guess, not a fact
        verb = settings.verb_weight if self.tag(term) == "v" else 1.0
        return max(settings.min_weight, surprisal - settings.surprisal_floor) * verb

    def tag(self, term: str) -> str | None:
        """jieba's part-of-speech tag for ``term``, if its dictionary has one."""
        if self._tags is None:
            import jieba.posseg

            jieba.posseg.dt.initialize()
            self._tags = jieba.posseg.dt.word_tag_tab
        return self._tags.get(term)

    def is_place(self, term: str) -> bool:
        """A city, province or country name, e.g. 深圳, 上海, 山东省, 美国.

        jieba tags many plain words "ns" (普及, 太多) and some places plain nouns (烟台),
        so a word counts as a place when the dictionary knows it with an administrative
        suffix (深圳 → 深圳市), or it is tagged a place and carries one itself or names a
        country (…国). Remembered: coverage asks it of every question term for every
        candidate sentence.
        """
        place = self._places.get(term)
        if place is None:
            place = self._places[term] = self._is_place(term)
        return place

    def _is_place(self, term: str) -> bool:
        if term in _GENERIC_PLACES or len(term) < 2:
            return False
        if any(self.tag(term + suffix) == "ns" for suffix in ADMIN_SUFFIXES):
            return True  # 烟台 is tagged a plain noun, but 烟台市 is a place
        if self.tag(term) != "ns":
            return False
        return (term[-1] in ADMIN_SUFFIXES and len(term) > 2) or term[-1] == "国"

    def is_unknown_name(self, term: str) -> bool:
        """A Chinese word of three or more characters that jieba's dictionary does not hold:
        its segmenter guessed it, as it does for names (唐爱陆, 齿河盗龙). Two-character guesses
        are as often colloquial verbs (挤进, 多派) and are left alone."""
        if len(term) < 3 or not CJK.match(term) or term in self.freq:
            return False
        # A guess that holds a dictionary word (最多能 = 最多 + 能) is a merge, not a name.
        pieces = (term[i:j] for i in range(len(term)) for j in range(i + 2, len(term) + 1))
        return not any(self.freq.get(p) for p in pieces if p != term)

    def is_noun(self, term: str) -> bool:
        """Nouns name things a source must mention; the verb of a when-question (开始, 启动)
        is usually phrased differently in the source (以来, 全面启动)."""
        return (self.tag(term) or "n") in _NOUN_TAGS

    def pinyin_word(self, name: str) -> str | None:
        """The word of the sources that reads as ``name`` in pinyin ("Cheng Peng" → 程鹏,
        "Zhenqing" → 真情), or None ("Chengdu": the sources never write 成都)."""
        if self._readings is None:
            from pypinyin import Style, pinyin

            readings: dict[str, set[str]] = {}
            for ch in {c for c in set(self.all_text) if CJK.match(c)}:  # no 6M-item list
                for syllable in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]:
                    readings.setdefault(syllable, set()).add(ch)
            self._readings = readings
        for syllables in pinyin_splits(name.lower().replace(" ", "").replace("-", "")):
            # Spell it character by character; neighbours must occur together in the index.
            words = sorted(self._readings.get(syllables[0], ()))
            for syllable in syllables[1:]:
                nexts = sorted(self._readings.get(syllable, ()))
                words = [w + c for w in words for c in nexts if w[-1] + c in self.bm25_vocab][:64]
            found = next((w for w in words if w in self.all_text), None)
            if found:
                return found
        return None

    def normalised(self, doc_id: str, start: int, end: int) -> str:
        """``text[start:end]`` of a document in the form questions are matched in (Simplified,
        lower-case), cut from the document normalised once: slices normalised one by one cost
        most of an answer's time."""
        norm, origin = self._normalised[doc_id]
        if origin is None:
            return norm[start:end]
        return norm[bisect.bisect_left(origin, start) : bisect.bisect_left(origin, end)]

    def title(self, doc_id: str) -> str:
        """A document's title, normalised like questions (once, not per candidate sentence)."""
        return self._titles[doc_id]

    def mentions(self, term: str) -> bool:
        """Whether the sources name ``term``, also without its suffix (山东省 → 山东)."""
        if term not in self._mentions:
            found = self._contains(term) or (
                term[-1] in ADMIN_SUFFIXES and len(term) > 2 and self._contains(term[:-1])
            )
            self._mentions[term] = found
        return self._mentions[term]

    def _contains(self, term: str) -> bool:
        """A scan of the whole text, skipped when the chunks hold some character pair of
        ``term`` nowhere: BM25 indexes every CJK bigram of every chunk, so its vocabulary
        rules most unknown terms out at once (headings, outside chunks, are not scanned)."""
        pairs = (term[i : i + 2] for i in range(len(term) - 1))
        if any(_CJK_PAIR.fullmatch(p) and p not in self.bm25_vocab for p in pairs):
            return False
        return term in self.all_text


_CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")
ADMIN_SUFFIXES = "省市县区州"
#: jieba noun tags; "ns" is left out, as jieba puts it on many non-nouns (普及, 太多).
_NOUN_TAGS = frozenset("n nz nt nr ng nrt nrfg".split())
_GENERIC_PLACES = frozenset(
    "城市 全国 国家 全省 全市 地区 国内 国际 世界 中国 省内 市内 当地 本地 全球".split()
)
_vocab_cache: "weakref.WeakKeyDictionary[Retriever, Vocabulary]" = weakref.WeakKeyDictionary()
_vocab_lock = threading.Lock()


@functools.lru_cache(maxsize=1024)
def pinyin_splits(word: str) -> tuple[tuple[str, ...], ...]:
    """The ways ``word`` reads as a sequence of pinyin syllables, longest syllables first
    (xian → xian, xia-n, xi-an, …; at most 16 ways)."""
    syllables = pinyin_syllables()

    @functools.lru_cache(maxsize=None)
    def rest(i: int) -> tuple[tuple[str, ...], ...]:
        if i == len(word):
            return ((),)
        out: list[tuple[str, ...]] = []
        for j in range(min(len(word), i + 6), i, -1):
            if word[i:j] in syllables:
                out += [(word[i:j], *tail) for tail in rest(j)]
        return tuple(out[:16])

    return rest(0)


@functools.lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows with a vowel (~410: zhong, lv, …; not the
    interjections n, ng, hm, which would let "Xing" read as xi-ng)."""
    import unicodedata

    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            bare = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
            out.add(bare.replace("ü", "v"))
    return frozenset(s for s in out if re.search("[aeiouv]", s))


def vocabulary(retriever: Retriever) -> Vocabulary:
    """One vocabulary per loaded index version, dropped with it (hot reload)."""
    with _vocab_lock:
        vocab = _vocab_cache.get(retriever)
        if vocab is None:
            vocab = _vocab_cache[retriever] = Vocabulary(retriever)
        return vocab
