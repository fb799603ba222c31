#!/usr/bin/env python3
"""Generates data/tiny-plays.txt, rnnlab's bundled default corpus.

The text is a collection of short invented plays: a title, a list of
persons, acts and scenes, speeches headed by a speaker's name in capitals
and a colon, and stage directions in square brackets.  Everything comes from
the word lists and sentence templates below, drawn with a fixed seed, so the
output is the same on every run and every machine with Python 3.

The format is deliberately regular (a character-level model learns the
layout within seconds) while the sentences are varied enough that the
vocabulary and grammar keep it busy for much longer.

Usage:  python3 data/gen_corpus.py [--out PATH] [--seed N] [--size BYTES]
"""

import argparse
import os
import random

# ---------------------------------------------------------------------------
# Word lists.  Nouns take a regular plural unless given as "singular:plural".

NOUNS_PEOPLE = """
king queen prince princess duke duchess lord lady knight squire soldier
captain general sergeant sailor pilot merchant banker clerk scribe judge
priest monk nun bishop doctor nurse baker butcher brewer miller weaver tailor
cobbler smith carpenter mason potter farmer shepherd hunter fisherman:fishermen
woodman:woodmen gardener cook servant maid steward porter messenger herald
guard watchman:watchmen jailer thief:thieves beggar pilgrim stranger traveller
widow orphan child:children boy girl man:men woman:women father mother
brother sister son daughter uncle aunt cousin nephew niece husband wife:wives
friend enemy rival lover suitor bride groom tutor student scholar poet
painter singer dancer player fool jester magician witch ghost giant dwarf
emperor empress ambassador spy pirate smuggler innkeeper landlord tenant
widower heir heiress mayor alderman:aldermen constable sheriff archer
"""

NOUNS_THINGS = """
sword shield dagger spear bow arrow helmet crown ring necklace bracelet
jewel pearl diamond ruby coin purse chest box key lock door gate window wall
tower castle palace house cottage hut barn mill church chapel abbey market
tavern inn kitchen cellar garden orchard field meadow forest wood hill
mountain valley river stream lake pond sea ocean shore harbour ship boat
oar sail anchor rope net bridge road path street lane square fountain well
bell clock candle lamp lantern torch fire hearth chimney roof floor stair
bed pillow blanket cloak coat hat glove boot shoe belt button needle thread
cloth silk linen wool leather paper letter book page scroll map pen ink
seal portrait mirror cup goblet bottle jug bowl plate spoon knife:knives
fork table chair bench stool cradle coffin grave stone rock pebble sand
dust mud snow rain wind storm cloud thunder lightning sun moon star sky
morning evening night:nights day week month year hour minute season spring
summer autumn winter apple pear plum cherry grape lemon orange bread cake
pie cheese butter honey egg fish:fish meat soup wine ale milk water salt
pepper sugar flower rose lily violet daisy tulip oak elm willow pine ash
leaf:leaves branch root seed acorn horse pony donkey mule cow ox:oxen sheep:sheep
goat pig dog cat mouse:mice rat fox wolf:wolves bear deer:deer hare rabbit
owl hawk eagle raven crow dove sparrow swan goose:geese duck hen cock
bee wasp spider snake frog toad lion tiger horn drum flute harp fiddle
trumpet song dance feast banquet wedding funeral journey voyage battle war
army fleet camp tent flag banner trumpet drumstick wheel cart carriage
saddle bridle whip ladder bucket barrel basket sack blade hammer axe
shovel plough anvil forge oven kettle pot pan broom mask costume stage
curtain ticket riddle puzzle secret promise oath vow wager debt bargain
gift prize reward treasure fortune ransom message rumour story tale legend
"""

NOUNS_ABSTRACT = """
love hate fear hope joy grief sorrow anger pride shame honour glory duty
mercy justice truth faith doubt courage patience wisdom folly madness
beauty grace kindness cruelty greed envy jealousy revenge peace silence
music laughter memory fortune luck fate danger trouble mischief wonder
freedom friendship loyalty treason betrayal innocence guilt comfort
"""

ADJECTIVES = """
old young new ancient bright dark pale golden silver copper iron wooden
stone glass silken velvet bitter sweet sour salty cold warm hot cool wet dry
quiet loud gentle fierce brave cowardly clever foolish wise mad honest false
true proud humble noble common rich poor hungry thirsty weary tired sleepy
strange curious famous secret hidden lost broken empty full heavy light
little great small large tall short long narrow wide deep shallow high low
quick slow early late sudden patient restless careful careless cheerful
gloomy merry sad happy angry jealous faithful loyal treacherous wicked kind
cruel generous greedy gracious wretched miserable lonely crowded distant
near strong weak sick healthy clean dirty fresh rotten ripe green blue red
black white grey yellow purple scarlet crimson amber rusty dusty muddy
frozen burning shining glittering trembling whispering sleeping waking
wandering forgotten cursed blessed holy unholy royal humble hollow gentle
polite rude shy bold wild tame lucky unlucky dreadful wonderful terrible
lovely ugly handsome plain fancy simple bare bald crooked straight round
square sharp blunt smooth rough soft hard steep crisp stale foggy misty
stormy windy sunny rainy snowy starry moonlit shadowy dim brilliant
splendid shabby ragged tattered elegant graceful clumsy nimble sturdy
fragile precious worthless costly cheap generous stingy solemn playful
earnest idle busy eager reluctant anxious calm furious gentle tender
"""

ADVERBS = """
quickly slowly softly loudly gently bravely boldly sadly gladly truly
surely simply clearly quietly nobly wisely foolishly kindly cruelly
honestly falsely suddenly carefully carelessly patiently eagerly
anxiously calmly proudly humbly merrily gravely sweetly bitterly
tomorrow tonight today yesterday again already always never often
seldom sometimes soon once twice here there everywhere nowhere
"""

# Verbs: "base" for regular ones, "base:past:participle" for irregular ones,
# "base+" when the final consonant doubles (stop, stopped, stopping).
VERBS_TRANSITIVE = """
take:took:taken give:gave:given bring:brought:brought buy:bought:bought
sell:sold:sold steal:stole:stolen find:found:found lose:lost:lost
keep:kept:kept hold:held:held break:broke:broken mend carry fetch
open close lock unlock hide:hid:hidden seek:sought:sought follow guard
watch see:saw:seen hear:heard:heard know:knew:known forget:forgot:forgotten
remember love hate fear trust doubt praise blame forgive:forgave:forgiven
betray serve obey command rule:ruled:ruled wake:woke:woken bury
burn:burned:burned build:built:built climb cross throw:threw:thrown
catch:caught:caught kill wound heal feed:fed:fed wash dress paint
write:wrote:written read:read:read sing:sang:sung ring:rang:rung
tell:told:told teach:taught:taught show:showed:shown call marry visit
greet kiss embrace warn pay:paid:paid owe count weigh measure taste
smell touch pull push drag drop+ lift raise lower fill pour spill
cut:cut:cut tie untie bind:bound:bound wrap+ seal sign promise
offer refuse accept deliver send:sent:sent meet:met:met leave:left:left
spare rescue save chase hunt trap+ free crown banish summon question
answer admire envy pity mock flatter deceive trick cheat rob+ ransom
wear:wore:worn bear:bore:borne shake:shook:shaken strike:struck:struck
beat:beat:beaten win:won:won defend attack besiege conquer
"""

VERBS_INTRANSITIVE = """
sleep:slept:slept dream weep:wept:wept laugh smile sigh wait listen
pray kneel:knelt:knelt rise:rose:risen fall:fell:fallen run:ran:run
walk wander travel+ march sail ride:rode:ridden swim:swam:swum fly:flew:flown
dance sing:sang:sung speak:spoke:spoken shout whisper tremble shiver
hurry rest stay return arrive depart vanish appear sit:sat:sat
stand:stood:stood come:came:come go:went:gone live die grow:grew:grown
shine:shone:shone burn:burned:burned fade glitter sparkle
freeze:froze:frozen melt drown hesitate complain quarrel+ agree
argue rejoice mourn suffer recover fight:fought:fought flee:fled:fled
hide:hid:hidden kneel:knelt:knelt wake:woke:woken
"""

# The same word in two lists is fine: a set of distinct words is what counts.

SYLLABLES_START = """
al an ar bel bar bran cal cor dar del dor el fen fal gar gil hal har
il is jor kal kel lor lys mal mar mer mor nel nor or os pel per quin
ral ros sal sel tam tor ul val ver wil yor zan bri cla dre fla gre pri
tra tho che sha
"""

SYLLABLES_MID = "a e i o u an en in on ar er or el il ol"

SYLLABLES_END = """
da do na no ra ro la lo ta to sa so ne ria lia nia wen wyn rin lin tin
mund bert ric win ford mond ston dric vin ros mos lus nus tus ca la bel
"""

PLACE_ENDINGS = """
mere ford wick holt haven dale moor field brook vale bury stead march
ton gate ness wold shire cliff hollow stow
"""

PLACE_KINDS = """
a market square:a street:a courtyard:a hall:a garden:a forest:a road:a
harbour:a tavern:a chapel:a prison:a tower:a kitchen:a bedchamber:a
battlefield:a camp:a ship:a shore:a bridge:an orchard:a cellar:a library:a
mill:a meadow:a cave:a graveyard:a throne room:a gallery:a balcony
"""

ROLES = [
    "a merchant of {place}", "the Duke of {place}", "the Duchess of {place}",
    "a soldier", "a sea captain", "servant to {name}", "daughter to {name}",
    "son to {name}", "brother to {name}", "sister to {name}",
    "friend to {name}", "a physician", "a poor scholar", "an innkeeper",
    "a widow of {place}", "a gardener", "steward to {name}", "a herald",
    "a travelling player", "a fool", "a priest", "a thief", "a fisherman",
    "uncle to {name}", "nurse to {name}", "a miller of {place}",
    "a magistrate", "a messenger", "a banished lord", "a young lady of {place}",
    "a ghost", "a pirate", "the Queen of {place}", "the King of {place}",
]

PRONOUN_OBJ = {"I": "me", "you": "you", "he": "him", "she": "her",
               "we": "us", "they": "them"}
POSSESSIVES = ["my", "your", "his", "her", "our", "their"]

# Which "an"-words start with a consonant sound, and the reverse.
CONSONANT_U = ("use", "uni", "euro", "one", "once")
SILENT_H = ("hour", "honour", "honest", "heir")


def words(text):
    return text.split()


def split_noun(entry):
    """Returns (singular, plural) for a list entry."""
    if ":" in entry:
        s, p = entry.split(":")
        return s, p
    if entry.endswith(("s", "sh", "ch", "x", "z")):
        return entry, entry + "es"
    if entry.endswith("y") and entry[-2] not in "aeiou":
        return entry, entry[:-1] + "ies"
    return entry, entry + "s"


class Verb:
    """A verb with all the forms the templates use."""

    def __init__(self, entry):
        double = entry.endswith("+")
        entry = entry.rstrip("+")
        parts = entry.split(":")
        b = parts[0]
        self.base = b
        if b.endswith(("s", "sh", "ch", "x", "z", "o")):
            self.s3 = b + "es"
        elif b.endswith("y") and b[-2] not in "aeiou":
            self.s3 = b[:-1] + "ies"
        else:
            self.s3 = b + "s"
        if double:
            stem = b + b[-1]
            self.ing = stem + "ing"
            reg_past = stem + "ed"
        else:
            if b.endswith("ie"):
                self.ing = b[:-2] + "ying"
            elif b.endswith("e") and not b.endswith(("ee", "ye", "oe")):
                self.ing = b[:-1] + "ing"
            else:
                self.ing = b + "ing"
            if b.endswith("e"):
                reg_past = b + "d"
            elif b.endswith("y") and b[-2] not in "aeiou":
                reg_past = b[:-1] + "ied"
            else:
                reg_past = b + "ed"
        # Verbs whose -ing form doubles although their past is irregular.
        if b in ("run", "swim", "win", "cut", "forget", "begin", "sit"):
            self.ing = b + b[-1] + "ing"
        self.past = parts[1] if len(parts) > 1 else reg_past
        self.pp = parts[2] if len(parts) > 2 else self.past

    def present(self, person):
        return self.s3 if person == "3s" else self.base


def article(word):
    w = word.lower()
    if w.startswith(SILENT_H):
        return "an"
    if w.startswith(CONSONANT_U):
        return "a"
    return "an" if w[0] in "aeiou" else "a"


def cap(s):
    return s[:1].upper() + s[1:]


# ---------------------------------------------------------------------------

class World:
    """The vocabulary, plus invented names and places, fixed per seed."""

    def __init__(self, rng):
        self.rng = rng
        self.people = [split_noun(e) for e in words(NOUNS_PEOPLE)]
        self.things = [split_noun(e) for e in words(NOUNS_THINGS)]
        self.abstract = words(NOUNS_ABSTRACT)
        self.adjs = sorted(set(words(ADJECTIVES)))
        self.advs = words(ADVERBS)
        self.manner = [a for a in self.advs if a.endswith("ly")]
        self.vt = [Verb(e) for e in words(VERBS_TRANSITIVE)]
        self.vi = [Verb(e) for e in words(VERBS_INTRANSITIVE)]
        self.names = self._invent_names(420)
        self.places = self._invent_places(140)
        self.place_kinds = [k.strip() for k in
                            " ".join(words(PLACE_KINDS)).split(":")]

    def _invent_names(self, n):
        r = self.rng
        start, mid, end = (words(SYLLABLES_START), words(SYLLABLES_MID),
                           words(SYLLABLES_END))
        out, seen = [], set()
        while len(out) < n:
            parts = [r.choice(start)]
            if r.random() < 0.45:
                parts.append(r.choice(mid))
            parts.append(r.choice(end))
            name = "".join(parts)
            # Avoid doubled vowels ("Flaata") and names too long to say.
            if len(name) > 10 or any(v + v in name for v in "aeiouy"):
                continue
            if name not in seen:
                seen.add(name)
                out.append(cap(name))
        return out

    def _invent_places(self, n):
        r = self.rng
        start, end = words(SYLLABLES_START), words(PLACE_ENDINGS)
        out, seen = [], set()
        while len(out) < n:
            a = r.choice(start)
            if r.random() < 0.35:
                a += r.choice(words(SYLLABLES_MID))
            name = cap(a + r.choice(end))
            if name not in seen:
                seen.add(name)
                out.append(name)
        return out


class Scene:
    """What a sentence can refer to while a scene is being written."""

    def __init__(self, world, cast, place, topics):
        self.w = world
        self.cast = cast          # list of (NAME, role)
        self.place = place
        self.topics = topics      # nouns this scene keeps coming back to
        self.speaker = None
        self.listener = None


class Writer:
    def __init__(self, rng, world):
        self.r = rng
        self.w = world

    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    # -- phrases ------------------------------------------------------------

    def thing(self, sc, plural=False):
        """A concrete noun, often one of the scene's topics."""
        if sc.topics and self.chance(0.35):
            s, p = self.pick(sc.topics)
        else:
            s, p = self.pick(self.w.things if self.chance(0.75) else self.w.people)
        return p if plural else s

    def np(self, sc, plural=None, allow_name=True):
        """A noun phrase and its person ("3s" or "3p")."""
        if plural is None:
            plural = self.chance(0.25)
        if allow_name and not plural and self.chance(0.12):
            return self.other_name(sc), "3s"
        noun = self.thing(sc, plural)
        adj = self.pick(self.w.adjs) if self.chance(0.4) else None
        words_ = ([adj] if adj else []) + [noun]
        x = self.r.random()
        if x < 0.45:
            det = "the"
        elif x < 0.7:
            det = self.pick(POSSESSIVES)
        elif plural:
            det = self.pick(["some", "these", "those", "many", "two", "three",
                             "a hundred", "all the", "no"])
        else:
            det = self.pick(["this", "that", "every", "no", None])
            if det is None:
                det = article(words_[0])
        phrase = det + " " + " ".join(words_)
        if self.chance(0.12):
            phrase += " of " + self.pick(self.w.places)
        return phrase, "3p" if plural else "3s"

    def subject(self, sc):
        """A subject and its person: pronoun, name or noun phrase."""
        x = self.r.random()
        if x < 0.22:
            return "I", "1s"
        if x < 0.34:
            return "you", "2"
        if x < 0.42:
            return "we", "3p"
        if x < 0.5:
            return self.pick(["he", "she"]), "3s"
        if x < 0.55:
            return "they", "3p"
        return self.np(sc)

    def obj(self, sc):
        x = self.r.random()
        if x < 0.15:
            return self.pick(["me", "you", "him", "her", "us", "them", "it"])
        return self.np(sc)[0]

    def other_name(self, sc):
        names = [n for n, _ in sc.cast if n != sc.speaker]
        return cap(self.pick(names).lower()) if names else "friend"

    def addressee(self, sc):
        """How the speaker addresses the listener."""
        if sc.listener and self.chance(0.6):
            return cap(sc.listener.lower())
        return self.pick(["my lord", "my lady", "good sir", "madam", "friend",
                          "sweet cousin", "old man", "fair one", "my love",
                          "gentlemen", "masters", "sirrah", "my liege",
                          "good " + self.other_name(sc)])

    def place_phrase(self, sc):
        prep = self.pick(["in", "at", "near", "beyond", "under", "behind",
                          "across", "beside", "towards", "from", "through",
                          "upon"])
        if self.chance(0.3):
            return prep + " " + self.pick(self.w.places)
        return prep + " " + self.np(sc, allow_name=False)[0]

    def predicate(self, sc, person, tense):
        """A verb phrase agreeing with person, in tense past/present/future/
        modal/perfect/progressive."""
        trans = self.chance(0.65)
        v = self.pick(self.w.vt if trans else self.w.vi)
        if tense == "past":
            vp = v.past
        elif tense == "present":
            vp = v.present(person)
        elif tense == "future":
            vp = self.pick(["will", "shall"]) + " " + v.base
        elif tense == "modal":
            vp = self.pick(["must", "cannot", "would", "should", "may",
                            "might", "could", "dare not", "will not"]) + " " + v.base
        elif tense == "perfect":
            aux = "has" if person == "3s" else "have"
            vp = aux + " " + v.pp
        else:
            be = {"1s": "am", "3s": "is"}.get(person, "are")
            vp = be + " " + v.ing
        if trans:
            vp += " " + self.obj(sc)
        if self.chance(0.3):
            vp += " " + self.place_phrase(sc)
        elif self.chance(0.2):
            vp += " " + self.pick(self.w.manner)
        return vp

    def clause(self, sc, tense=None):
        if tense is None:
            tense = self.pick(["past", "past", "present", "present", "future",
                               "modal", "perfect", "progressive"])
        s, person = self.subject(sc)
        return s + " " + self.predicate(sc, person, tense)

    # -- sentences ------------------------------------------------------------

    def statement(self, sc):
        x = self.r.random()
        if x < 0.4:
            return cap(self.clause(sc)) + "."
        if x < 0.5:
            s, person = self.np(sc, allow_name=False)
            be = "is" if person == "3s" else "are"
            adj = self.pick(self.w.adjs)
            if self.chance(0.3):
                adj = self.pick(["very", "too", "so", "most", "not"]) + " " + adj
            return cap(s) + " " + be + " " + adj + "."
        if x < 0.6:
            conj = self.pick(["and", "but", "for", "so", "yet", "because",
                              "while", "though", "until", "before"])
            return cap(self.clause(sc)) + ", " + conj + " " + self.clause(sc) + "."
        if x < 0.67:
            a, adj = self.pick(self.w.abstract), self.pick(self.w.adjs)
            return cap(a) + " " + self.pick([
                "is " + article(adj) + " " + adj + " " + self.thing(sc),
                "will not let me sleep",
                "has made " + self.pick(["a fool", "a beggar", "a king",
                                         "a child", "a stranger"]) + " of me",
                "was ever the ruin of " + self.pick(self.w.places),
                "grows " + self.pick(self.w.adjs) + " in the " + self.thing(sc),
            ]) + "."
        if x < 0.74:
            return ("If " + self.clause(sc, "present") + ", " +
                    self.clause(sc, "future") + ".")
        if x < 0.8:
            return ("I " + self.pick(["think", "know", "fear", "believe",
                                      "swear", "hope", "heard", "dreamt"]) +
                    " that " + self.clause(sc) + ".")
        if x < 0.86:
            det, adj = self.pick(["no", "a", "one", "some"]), self.pick(self.w.adjs)
            if det == "a":
                det = article(adj)
            return (cap(self.pick(["there is", "there was", "here is",
                                   "there will be"])) + " " + det + " " + adj +
                    " " + self.thing(sc) + " " + self.place_phrase(sc) + ".")
        if x < 0.93:
            return ("When " + self.clause(sc, "past") + ", " +
                    self.clause(sc, "past") + ".")
        return (cap(self.pick(self.w.advs)) + " " + self.clause(sc) + ".")

    def question(self, sc):
        x = self.r.random()
        v = self.pick(self.w.vt)
        if x < 0.2:
            return (self.pick(["Why", "How", "When", "Where"]) + " did you " +
                    v.base + " " + self.obj(sc) + "?")
        if x < 0.35:
            s, person = self.np(sc)
            aux = "does" if person == "3s" else "do"
            return (cap(self.pick(["why", "where", "how", "when"])) + " " + aux +
                    " " + s + " " + self.pick(self.w.vi).base + "?")
        if x < 0.5:
            return ("Where is " + self.np(sc, plural=False)[0] + "?")
        if x < 0.6:
            return ("Who " + self.pick(self.w.vt).past + " " + self.obj(sc) + "?")
        if x < 0.7:
            return ("Have you " + v.pp + " " + self.obj(sc) + "?")
        if x < 0.78:
            return ("Shall we " + self.pick(self.w.vi).base + " " +
                    self.place_phrase(sc) + "?")
        if x < 0.86:
            return ("What " + self.pick(["is", "was"]) + " " +
                    self.np(sc, plural=False, allow_name=False)[0] + " to " +
                    self.pick(["you", "me", "him", "her", "us", "them"]) + "?")
        if x < 0.93:
            return ("Is it true that " + self.clause(sc) + "?")
        return ("Will you " + v.base + " " + self.obj(sc) + ", " +
                self.addressee(sc) + "?")

    def exclamation(self, sc):
        x = self.r.random()
        if x < 0.25:
            return ("O " + self.pick(self.w.adjs) + " " +
                    self.pick(self.w.abstract + [t for t, _ in self.w.things]) + "!")
        if x < 0.45:
            s, person = self.np(sc, allow_name=False)
            be = self.pick(["is", "was"] if person == "3s" else ["are", "were"])
            return (self.pick(["Alas", "Ah", "Lo", "Hark", "Look", "Hush",
                               "Away", "Peace", "Enough", "Come", "Fie"]) + ", " +
                    s + " " + be + " " + self.pick(self.w.adjs) + "!")
        if x < 0.6:
            adj = self.pick(self.w.adjs)
            return ("What " + article(adj) + " " + adj + " " + self.thing(sc) +
                    " this is!")
        if x < 0.75:
            return ("By the " + self.thing(sc) + " of " +
                    self.pick(self.w.places) + ", I " +
                    self.pick(["swear", "vow", "promise"]) + " it!")
        if x < 0.88:
            return ("Heaven " + self.pick(["keep", "save", "help", "forgive",
                                           "protect", "defend"]) + " " +
                    self.pick(["us", "you", "me", "the king", "this house",
                               "my poor " + self.thing(sc)]) + "!")
        return (cap(self.pick(self.w.vt).base) + " " + self.obj(sc) + "!")

    def command(self, sc):
        v = self.pick(self.w.vt)
        s = cap(v.base) + " " + self.obj(sc)
        if self.chance(0.3):
            s += " " + self.pick(self.w.manner)
        if self.chance(0.5):
            s = s + ", " + self.addressee(sc)
        elif self.chance(0.4):
            s = cap(self.addressee(sc)) + ", " + v.base + " " + self.obj(sc)
        return s + self.pick([".", ".", "!"])

    def reply(self, sc):
        return self.pick([
            "Yes, " + self.addressee(sc) + ".",
            "No, " + self.addressee(sc) + ".",
            "I will, " + self.addressee(sc) + ".",
            "Not I.", "Never.", "Gladly.", "With all my heart.",
            "As you wish.", "It shall be done.", "I do not know.",
            "Not yet.", "I think not.", "Perhaps.", "Indeed.",
            "Then let it be so.", "Speak on.", "I am listening.",
            "Go on, " + self.addressee(sc) + ".",
            "Say no more.", "So be it.", "Forgive me, " + self.addressee(sc) + ".",
            "Hush, " + self.addressee(sc) + "!",
        ])

    def sentence(self, sc):
        x = self.r.random()
        if x < 0.45:
            return self.statement(sc)
        if x < 0.65:
            return self.question(sc)
        if x < 0.78:
            return self.exclamation(sc)
        return self.command(sc)

    def speech(self, sc, answering):
        """The lines of one speech (wrapped at about 68 characters)."""
        sents = []
        if answering and self.chance(0.3):
            sents.append(self.reply(sc))
        n = self.pick([1, 1, 1, 2, 2, 2, 3, 3, 4, 5])
        for _ in range(n):
            sents.append(self.sentence(sc))
        lines, cur = [], ""
        for s in sents:
            for word in s.split():
                if cur and len(cur) + 1 + len(word) > 68:
                    lines.append(cur)
                    cur = word
                else:
                    cur = cur + " " + word if cur else word
            if len(cur) > 40 and self.chance(0.5):
                lines.append(cur)
                cur = ""
        if cur:
            lines.append(cur)
        return lines

    # -- stage directions -------------------------------------------------------

    @staticmethod
    def name_list(names):
        if len(names) == 1:
            return names[0]
        return ", ".join(names[:-1]) + " and " + names[-1]

    def direction(self, sc, on_stage):
        who = self.pick(on_stage)
        return "[" + self.pick([
            who + " " + self.pick(self.w.vt).s3 + " the " + self.thing(sc) + ".",
            who + " " + self.pick(["kneels", "weeps", "laughs", "sits",
                                   "rises", "turns away", "draws a sword",
                                   "reads a letter", "sings", "falls asleep",
                                   "hides", "listens at the door"]) + ".",
            "Aside.", "A knock within.", "Music.", "Thunder.",
            "A bell rings " + self.pick(["twice", "once", "far off"]) + ".",
            "Trumpets within.", "They " + self.pick(["fight", "embrace",
                                                     "whisper", "bow",
                                                     "dance", "drink"]) + ".",
            "Noise of " + self.pick(["a crowd", "horses", "rain", "a storm",
                                     "soldiers", "a feast"]) + " within.",
        ]) + "]"

    # -- plays --------------------------------------------------------------

    def title(self, cast):
        w = self.w
        a = self.pick(w.adjs).upper()
        t = self.pick(w.things)[0].upper()
        return self.pick([
            "THE " + a + " " + t,
            "THE " + t + " OF " + self.pick(w.places).upper(),
            "THE TRAGEDY OF " + cast[0][0],
            "THE COMEDY OF THE " + a + " " + t,
            cast[0][0] + " AND " + cast[1][0],
            "A " + self.pick(w.abstract).upper() + " IN " +
            self.pick(w.places).upper(),
            "THE " + self.pick(w.people)[0].upper() + " OF " +
            self.pick(w.places).upper(),
        ])

    def play(self):
        w = self.w
        n_cast = self.r.randint(4, 8)
        names = self.r.sample(w.names, n_cast)
        home = self.pick(w.places)
        cast = []
        for i, nm in enumerate(names):
            role = self.pick(ROLES).format(
                place=self.pick([home, home, self.pick(w.places)]),
                name=cap(self.pick(names[:i] or names[1:]).lower()))
            cast.append((nm.upper(), role))
        out = [self.title(cast), "", "PERSONS OF THE PLAY:"]
        for nm, role in cast:
            out.append("  " + nm + ", " + role)
        out.append("")
        n_acts = self.r.randint(2, 5)
        for a in range(n_acts):
            out.append("ACT " + ["I", "II", "III", "IV", "V"][a])
            out.append("")
            for s in range(self.r.randint(1, 3)):
                out.extend(self.scene(cast, home, s + 1))
        out.append("THE END")
        out.append("")
        out.append("")
        return "\n".join(out) + "\n"

    def scene(self, cast, home, number):
        w = self.w
        where = self.pick(w.place_kinds)
        if self.chance(0.5):
            where += (" in " if self.chance(0.5) else " near ") + home
        else:
            where += " in " + self.pick(w.places)
        topics = [self.pick(w.things) for _ in range(self.r.randint(2, 3))]
        sc = Scene(w, cast, where, topics)
        names = [n for n, _ in cast]
        on_stage = self.r.sample(names, self.r.randint(2, min(4, len(names))))
        out = ["SCENE " + str(number) + ". " + cap(where) + ".", "",
               "[Enter " + self.name_list(on_stage) + ".]", ""]
        last = None
        for i in range(self.r.randint(10, 28)):
            # Someone enters or leaves now and then; two always remain.
            off = [n for n in names if n not in on_stage]
            if off and self.chance(0.08):
                who = self.pick(off)
                on_stage.append(who)
                out += ["[Enter " + who + ".]", ""]
            elif len(on_stage) > 2 and self.chance(0.06):
                who = self.pick([n for n in on_stage if n != last])
                on_stage.remove(who)
                out += ["[Exit " + who + ".]", ""]
            if self.chance(0.1):
                out += [self.direction(sc, on_stage), ""]
            speaker = self.pick([n for n in on_stage if n != last])
            listeners = [n for n in on_stage if n != speaker]
            sc.speaker = speaker
            sc.listener = last if last in listeners else self.pick(listeners)
            out.append(speaker + ":")
            out.extend(self.speech(sc, answering=last is not None))
            out.append("")
            last = speaker
        out += ["[Exeunt.]" if len(on_stage) > 1 else "[Exit " + on_stage[0] + ".]", ""]
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "tiny-plays.txt"))
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--size", type=int, default=1_300_000,
                    help="stop after the play that passes this many bytes")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    world = World(rng)
    writer = Writer(rng, world)
    plays, total = [], 0
    while total < args.size:
        p = writer.play()
        plays.append(p)
        total += len(p.encode("utf-8"))
    text = "".join(plays)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    distinct = len(set(t.strip(".,!?:;[]").lower() for t in text.split()))
    print(f"{args.out}: {len(text.encode('utf-8'))} bytes, {len(plays)} plays, "
          f"{distinct} distinct words")


if __name__ == "__main__":
    main()
