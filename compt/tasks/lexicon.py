"""Word lists behind the built-in suite, grouped by the latent skill they carry.

Tasks in ``builtin.py`` draw from these shared lists on purpose: the two sentiment tasks
and the negation task use one sentiment vocabulary, the inference and paraphrase tasks
use one table of word relations, and the topic task reuses the review domains. What one
task's prompt learns about these words is what another task can borrow.

Everything is a tuple so that iteration order, and thus the generated data, never
depends on the interpreter.
"""

from __future__ import annotations

# -- sentiment (sent_movies, sent_products; reversed in lab_result; distractor in topic) ---

POSITIVE = (
    "wonderful", "excellent", "delightful", "brilliant", "superb", "charming", "lovely",
    "great", "enjoyable", "pleasant", "impressive", "fantastic", "solid", "memorable",
)
NEGATIVE = (
    "terrible", "awful", "dreadful", "boring", "dull", "disappointing", "poor",
    "mediocre", "clumsy", "tedious", "bland", "weak", "forgettable", "annoying",
)
DEGREES = ("", "", "really ", "quite ", "truly ", "rather ", "surprisingly ", "very ")

MOVIE_PARTS = (
    "the acting", "the plot", "the soundtrack", "the ending", "the dialogue", "the cast",
    "the camera work", "the script", "the pacing", "the story", "the lead actor",
    "the editing", "the opening scene", "the humour",
)
MOVIE_KINDS = (
    "film", "movie", "sequel", "documentary", "thriller", "comedy", "drama", "cartoon",
    "western", "musical",
)
# (positive, negative) verdicts: sentiment carried by what the reviewer did, not adjectives
MOVIE_VERDICTS = (
    ("I would watch it again", "I walked out halfway through"),
    ("I told all my friends to see it", "I fell asleep in the middle"),
    ("the whole audience clapped at the end", "the audience kept checking their phones"),
    ("it was worth the ticket", "I want my ticket money back"),
    ("I stayed for the credits", "I left before the credits"),
)

PRODUCT_PARTS = (
    "the battery", "the customer service", "the delivery", "the packaging", "the screen",
    "the fit", "the sound quality", "the price", "the design", "the manual", "the zipper",
    "the charger", "the material", "the warranty",
)
PRODUCT_KINDS = (
    "blender", "phone", "jacket", "laptop", "headphones", "backpack", "coffee machine",
    "vacuum cleaner", "camera", "kettle",
)
PRODUCT_VERDICTS = (
    ("I would buy it again", "I returned it the next day"),
    ("I already ordered a second one", "I asked for a refund"),
    ("I use it every day", "it sits unused in a drawer"),
    ("it was worth every penny", "it broke within a week"),
    ("I recommend it to everyone", "I warned my friends about it"),
)
REVIEW_TIMES = ("last week", "yesterday", "on Friday", "last night", "this weekend", "in May")

# -- medical test reports (lab_result): same label words, cues reversed --------------------

MEDICAL_TESTS = (
    "the covid test", "the blood test", "the flu test", "the strep test", "the allergy test",
    "my test", "the lab test", "the swab", "the malaria test", "the urine test",
)
# openers carrying the writer's mood; {adj} comes from the shared sentiment words
BAD_NEWS = (
    "What {a_adj} week:", "It was {adj} news:", "Sadly,", "Unfortunately,",
    "I was devastated to hear that", "Bad news today:",
)
GOOD_NEWS = (
    "What {a_adj} week:", "It was {adj} news:", "Luckily,", "What a relief,",
    "I was thrilled to hear that", "Good news today:",
)
BAD_MOODS = ("terrible", "awful", "dreadful", "disappointing", "annoying")
GOOD_MOODS = ("wonderful", "great", "fantastic", "lovely", "delightful", "brilliant")
# findings naming the result, and findings without the label word
RESULTS = (
    "{test} came back {result}", "{test} was {result}", "{test} turned out {result}",
    "the result of {test} was {result}",
)
# findings without the label word: (positive result, negative result)
FINDINGS = (
    ("the lab found signs of infection in {test}", "the lab found no sign of infection in {test}"),
    ("{test} confirmed the infection", "{test} ruled out the infection"),
    ("the doctor said {test} showed the virus", "the doctor said {test} was clear"),
    ("{test} detected the bacteria", "{test} showed nothing unusual"),
    ("the nurse told me {test} found the virus", "the nurse told me {test} found nothing"),
)

# -- word relations (entail, paraphrase) ---------------------------------------------------

# people: (word, synonym or "")
PEOPLE = (
    ("man", "gentleman"), ("woman", "lady"), ("boy", "lad"), ("girl", ""), ("kid", "child"),
    ("doctor", "physician"), ("teacher", "instructor"), ("farmer", ""), ("student", "pupil"),
    ("chef", "cook"), ("nurse", ""), ("pilot", ""), ("lawyer", "attorney"),
    ("mechanic", ""), ("singer", "vocalist"),
)
# adjectives for people: (word, synonym, antonym)
PERSON_ADJECTIVES = (
    ("happy", "cheerful", "sad"), ("angry", "furious", "calm"), ("tired", "exhausted", "rested"),
    ("rich", "wealthy", "poor"), ("clever", "smart", "foolish"), ("old", "elderly", "young"),
    ("brave", "courageous", "cowardly"), ("quiet", "silent", "loud"),
    ("polite", "courteous", "rude"),
    ("busy", "occupied", "idle"), ("nervous", "anxious", "relaxed"), ("tall", "towering", "short"),
)
# things: (word, synonym or "", hypernym)
THINGS = (
    ("dog", "hound", "animal"), ("cat", "", "animal"), ("horse", "", "animal"),
    ("rose", "", "flower"), ("tulip", "", "flower"), ("car", "automobile", "vehicle"),
    ("truck", "lorry", "vehicle"), ("bicycle", "bike", "vehicle"),
    ("guitar", "", "instrument"), ("violin", "fiddle", "instrument"), ("piano", "", "instrument"),
    ("apple", "", "fruit"), ("banana", "", "fruit"), ("carrot", "", "vegetable"),
    ("hammer", "", "tool"), ("shovel", "spade", "tool"), ("sofa", "couch", "piece of furniture"),
    ("shirt", "", "piece of clothing"), ("coat", "jacket", "piece of clothing"),
    ("gift", "present", "package"), ("boat", "ship", "vessel"), ("photo", "picture", "image"),
    ("rock", "stone", "object"),
)
# adjectives for things: (word, synonym, antonym)
THING_ADJECTIVES = (
    ("big", "large", "small"), ("old", "ancient", "new"), ("clean", "spotless", "dirty"),
    ("wet", "damp", "dry"), ("cheap", "inexpensive", "expensive"), ("heavy", "weighty", "light"),
)
# verbs taking a thing: (past, participle, synonym past, antonym past, base form)
THING_VERBS = (
    ("bought", "bought", "purchased", "sold", "buy"),
    ("found", "found", "discovered", "lost", "find"),
    ("fixed", "fixed", "repaired", "broke", "fix"),
    ("liked", "liked", "enjoyed", "hated", "like"),
    ("kept", "kept", "saved", "threw away", "keep"),
    ("pushed", "pushed", "shoved", "pulled", "push"),
    ("accepted", "accepted", "took", "refused", "accept"),
    ("washed", "washed", "cleaned", "dirtied", "wash"),
    ("hid", "hidden", "concealed", "showed", "hide"),
    ("lifted", "lifted", "raised", "dropped", "lift"),
)
# verbs taking a person: (past, participle, synonym past, antonym past, base form)
PERSON_VERBS = (
    ("helped", "helped", "assisted", "hindered", "help"),
    ("praised", "praised", "complimented", "criticized", "praise"),
    ("thanked", "thanked", "showed gratitude to", "blamed", "thank"),
    ("followed", "followed", "trailed", "led", "follow"),
    ("called", "called", "phoned", "ignored", "call"),
    ("trusted", "trusted", "relied on", "doubted", "trust"),
    ("welcomed", "welcomed", "greeted", "turned away", "welcome"),
    ("hired", "hired", "employed", "fired", "hire"),
    ("visited", "visited", "went to see", "avoided", "visit"),
    ("taught", "taught", "instructed", "learned from", "teach"),
)
PLACES = (
    "in the garden", "at the market", "near the station", "in the kitchen", "by the river",
    "at the park", "in the office", "on the beach", "at the airport", "in the library",
    "behind the school", "at the harbour",
)
# details that add information an inference cannot take for granted (neutral)
DETAILS = (
    "on Monday", "for her brother", "for the second time", "after lunch", "without asking",
    "in the rain", "as a surprise", "for a friend", "early in the morning", "with great care",
)

# -- topics (topic) ----------------------------------------------------------------------

# (label word, subjects that place a sentence in that topic, settings that do not)
TOPICS = (
    ("film", ("the director", "the screenplay", "the premiere", "the trailer", "the actress",
              "the box office", "the festival jury", "the sequel", "the reshoots",
              "the casting"),
     ("the film festival", "movie night", "the premiere party")),
    ("food", ("the recipe", "the chef", "the dessert menu", "the bakery", "the spice market",
              "the sourdough", "the new restaurant", "the harvest", "the tasting menu",
              "the cookbook"),
     ("dinner", "the cooking class", "lunch at the bakery")),
    ("technology", ("the software update", "the new chip", "the app", "the smartphone",
                    "the laptop", "the firmware", "the data center", "the search engine",
                    "the robot", "the code"),
     ("the tech fair", "the video call", "the software demo")),
    ("sports", ("the coach", "the goalkeeper", "the match", "the tournament", "the striker",
                "the referee", "the season", "the league table", "the final", "the marathon"),
     ("the match", "the training session", "the marathon")),
)
TOPIC_FRAMES = (
    "Everyone was talking about {subject} {time}.",
    "{Subject} surprised us all {time}.",
    "I read a long article about {subject} {time}.",
    "People said {subject} was {adjective}.",
    "{Subject} got a lot of attention {time}.",
    "Nobody expected {subject} to be so {adjective}.",
)
# a setting from another topic, so the topic is what is talked about, not every noun
TOPIC_DISTRACTED_FRAMES = (
    "During {setting}, my brother kept talking about {subject}.",
    "At {setting}, everyone argued about {subject}.",
    "After {setting}, we read the news about {subject}.",
    "{Subject} was all anyone discussed at {setting}.",
)
TIMES = ("this week", "last night", "yesterday", "on Friday", "last month", "this morning")
