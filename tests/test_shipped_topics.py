"""The shipped topics on reports written to catch them out: words with a second meaning (a
price that has fallen is no soldier killed, a shell company no artillery shell, troops that
seize a village no sanctions seizure), inflections and spellings (Elitesoldaten, Zelenskiy,
Raketentechnologie), and background lines (a missile test whose last sentence recalls the pact).

`CASES` come from an operator's review of `config/topics.yaml`, `PROBED` from two white-box
probes by helpers that read the file and the brief (BENCHMARKS.md, after the eighth round).
Before the fixes, 7 of the first 8 and most of the rest alerted the wrong topic or none; the
others guard readings the rules already got right ("traf", hit, is no meeting).
"""

from __future__ import annotations

import pytest

from monitor.config import load_topics
from monitor.match import Matcher
from monitor.models import Article, Entry
from tests.conftest import REPO

TROOPS = "North Korean troops in Russia"
WEAPONS = "North Korean missiles and shells for Russia"
UN = "UN Security Council resolutions and sanctions"
CONTEXT = "Civil ties between Russia and North Korea (context)"
TECH = "Russian military technology for North Korea"
SUMMIT = "Summits, partnership treaty and international reactions"

CASES = [
    (
        "Kohlepreise im Handel zwischen Nordkorea und Russland gefallen",
        "WLADIWOSTOK (dpa) - Die Preise für nordkoreanische Kohle im Handel mit Russland sind im "
        "dritten Quartal deutlich gefallen. Das teilte die Zollbehörde in Wladiwostok mit. Der "
        "Handel zwischen beiden Ländern wuchs dennoch.",
        {CONTEXT},
    ),
    (
        "Nordkorea und Russland vereinbaren Verstärkung des Tourismus",
        "MOSKAU (dpa) - Nordkorea und Russland wollen ihre Zusammenarbeit im Tourismus verstärken. "
        "Eine Verstärkung der Flugverbindungen zwischen Moskau und Pjöngjang sei geplant, sagte "
        "der russische Tourismusminister.",
        {CONTEXT},
    ),
    (
        "Russia to add diplomatic personnel at its Pyongyang embassy",
        "MOSCOW (Reuters) - Russia will increase its diplomatic personnel at the embassy in "
        "Pyongyang, the foreign ministry said on Monday, citing growing consular work as North "
        "Korean tourists travel to Russia.",
        {CONTEXT},
    ),
    (
        "North Korean troops seized the village of Plekhovo, Russia says",
        "MOSCOW (Reuters) - North Korean troops fighting alongside Russian forces seized the "
        "village of Plekhovo in the Kursk region, Russia's defence ministry said on Tuesday, the "
        "first time it credited North Korean soldiers with taking a settlement.",
        {TROOPS},
    ),
    (
        "Russland zieht Lehren aus dem Einsatz nordkoreanischer Soldaten in Kursk",
        "MOSKAU (dpa) - Das russische Militär wertet den Einsatz nordkoreanischer Soldaten im "
        "Gebiet Kursk aus. Die Soldaten aus Nordkorea hätten schwere Verluste erlitten, aber "
        "Dörfer zurückerobert, berichtete die Zeitung Iswestija.",
        {TROOPS},
    ),
    (
        "Treasury targets North Korean shell companies paid by Russia",
        "WASHINGTON (Reuters) - The U.S. Treasury on Tuesday sanctioned eight North Korean shell "
        "companies that it said received Russian payments in breach of U.N. Security Council "
        "resolutions. The firms in Hong Kong and Vladivostok laundered money for Pyongyang, the "
        "Treasury said.",
        {UN},
    ),
    (
        "Nordkorea: Giftgas für Russlands Front?",
        "SEOUL (dpa) - Südkoreas Geheimdienst prüft Hinweise, dass Nordkorea Russland Giftgas für "
        "den Einsatz an der Front in der Ukraine liefert. Pjöngjang bestreitet das.",
        {WEAPONS},
    ),
    (
        "Nordkoreanische Rakete traf Wohnhaus in Kiew",
        "KIEW (dpa) - Eine nordkoreanische Rakete vom Typ KN-23 traf in der Nacht ein Wohnhaus in "
        "Kiew, teilte die ukrainische Staatsanwaltschaft mit. Russland hatte die Rakete "
        "abgefeuert; vier Menschen starben.",
        {WEAPONS},
    ),
]


# From a white-box probe of the topics (a helper that read topics.yaml and the brief and wrote
# reports to catch them out); each is right now, most were wrong before the fixes.
PROBED = [
    (
        "Satellite images show surge in rail freight from North Korea to Russia",
        "WASHINGTON, Oct 3 (Reuters) - Satellite images captured on Sept. 28 show about 70 "
        "freight wagons at North Korea's Tumangang rail station on the border with Russia, "
        "a U.S. think tank said. The wagons are believed to carry munitions bound for "
        "Russian forces.",
        {WEAPONS},
    ),
    (
        "Five killed in Kyiv strike by North Korean-made missile",
        "KYIV, Jan 2 (Reuters) - Five people were killed when a North Korean-made KN-23 "
        "ballistic missile struck a residential building in Kyiv overnight, Ukrainian "
        "officials said on Thursday. Russia has fired dozens of the missiles supplied by "
        "Pyongyang since last year.",
        {WEAPONS},
    ),
    (
        "Zwei Menschen bei Angriff mit nordkoreanischer Rakete in Kiew getötet",
        "Kiew (dpa) - Bei einem russischen Angriff mit einer nordkoreanischen Rakete vom "
        "Typ KN-23 sind in Kiew zwei Menschen getötet worden. Das teilte die ukrainische "
        "Militärverwaltung am Montag mit.",
        {WEAPONS},
    ),
    (
        "Nordkorea schickt weitere Elitesoldaten nach Russland",
        "Seoul (dpa) - Nordkorea hat nach Angaben des südkoreanischen Geheimdienstes "
        "weitere Elitesoldaten nach Russland verlegt. Die rund 3000 Männer sollen in der "
        "russischen Grenzregion Kursk eingesetzt werden, teilte der Geheimdienst NIS am "
        "Donnerstag mit.",
        {TROOPS},
    ),
    (
        "North Korea sends more elite forces to Russia, Seoul says",
        "SEOUL, Feb 27 (Reuters) - North Korea has sent about 3,000 more members of its "
        "elite Storm Corps to Russia, South Korea's spy agency said on Thursday. The forces "
        "are expected to join Russian assaults in the Kursk region.",
        {TROOPS},
    ),
    (
        "Nordkoreanischer General bei Angriff in Kursk verletzt",
        "Kiew (dpa) - Bei einem ukrainischen Raketenangriff in der russischen Region Kursk "
        "ist nach Medienberichten ein ranghoher nordkoreanischer General verletzt worden. "
        "Es handle sich um den Vizechef des Generalstabs der nordkoreanischen Armee, "
        "berichtete das Portal Wall Street Journal.",
        {TROOPS},
    ),
    (
        "Seoul: Nordkorea plant Stationierung weiterer Kräfte in Russland",
        "Seoul (dpa) - Nordkorea bereitet nach Erkenntnissen des südkoreanischen "
        "Geheimdienstes die Stationierung weiterer Kräfte in Russland vor. Es handle sich "
        "um rund 3000 Mann, die im Frühjahr in der Region Kursk zum Einsatz kommen sollen.",
        {TROOPS},
    ),
    (
        "Japan denounces North Korean arms shipments to Russia",
        "TOKYO, Oct 15 (Reuters) - Japan on Tuesday denounced North Korea's shipments of "
        "artillery shells and ballistic missiles to Russia, Chief Cabinet Secretary "
        "Yoshimasa Hayashi told reporters. Tokyo will work with Washington and Seoul to "
        "respond, he said.",
        {SUMMIT},
    ),
    (
        "Japan kritisiert Waffenlieferungen Nordkoreas an Russland",
        "Tokio (dpa) - Japan hat die Lieferung nordkoreanischer Artilleriegranaten und "
        "Raketen an Russland scharf kritisiert. Regierungssprecher Yoshimasa Hayashi sagte "
        "am Dienstag, Tokio werde sich eng mit Washington und Seoul abstimmen.",
        {SUMMIT},
    ),
    (
        "North Korea fires ballistic missile into sea, Seoul says",
        "SEOUL, May 8 (Reuters) - North Korea fired a short-range ballistic missile off its "
        "east coast on Thursday, South Korea's military said. The missile flew about 300 km "
        "before landing in the sea. Pyongyang has deepened military ties with Russia since "
        "Kim Jong Un and Vladimir Putin signed a mutual defence pact last year.",
        set(),
    ),
    (
        "Russland liefert Nordkorea offenbar Raketentechnologie",
        "Seoul (dpa) - Russland hat Nordkorea nach Einschätzung des südkoreanischen "
        "Geheimdienstes Raketentechnologie übergeben. Das berichtete der Geheimdienst NIS "
        "am Mittwoch vor Abgeordneten in Seoul.",
        {TECH},
    ),
    (
        "Seoul: Moskau gibt Pjöngjang Militärtechnologie",
        "Seoul (dpa) - Russland stellt Nordkorea nach Erkenntnissen Südkoreas moderne "
        "Militärtechnologie zur Verfügung. Dazu gehöre Weltraumtechnologie für den Start "
        "von Aufklärungssatelliten, sagte ein Sprecher des Verteidigungsministeriums in "
        "Seoul.",
        {TECH},
    ),
    (
        "Seoul: Moskau gibt Pjöngjang Militärtechnologie",
        "Seoul (dpa) - Russland stellt Nordkorea nach Erkenntnissen Südkoreas moderne "
        "Militärtechnologie zur Verfügung. Das sagte ein Sprecher des "
        "Verteidigungsministeriums am Mittwoch in Seoul.",
        {TECH},
    ),
    (
        "Kim Jong Un visits fighter jet factory in Russia",
        "KOMSOMOLSK-ON-AMUR, Russia, Sept 15 (Reuters) - North Korean leader Kim Jong Un "
        "visited a factory making Russia's most advanced fighter jets on Friday, the sixth "
        "day of his trip to Russia. Deputy Prime Minister Denis Manturov showed him around "
        "the Sukhoi plant.",
        {SUMMIT, TECH},
    ),
    (
        "Russisches Staatsfernsehen zeigt erstmals Nordkoreaner im Kampf um Kursk",
        "Moskau (dpa) - Das russische Staatsfernsehen hat erstmals Aufnahmen "
        "nordkoreanischer Soldaten gezeigt, die an der Seite russischer Truppen in der "
        "Region Kursk kämpfen. Der Beitrag des Senders Rossija 1 zeigt die Männer beim "
        "Training und bei der Räumung von Minen.",
        {TROOPS},
    ),
    (
        "Lavrov, North Korea's Choe discuss Ukraine by telephone",
        "MOSCOW, Jan 21 (Reuters) - Russian Foreign Minister Sergei Lavrov and his North "
        "Korean counterpart Choe Son Hui spoke by telephone on Tuesday about the situation "
        "around Ukraine, the Russian foreign ministry said.",
        {SUMMIT},
    ),
    (
        "Ukraine says 40 North Koreans injured in Kursk strike",
        "KYIV, Dec 20 (Reuters) - At least 40 North Koreans were injured in a Ukrainian "
        "drone strike on their positions in Russia's Kursk region, Ukraine's special "
        "operations forces said on Friday.",
        {TROOPS},
    ),
    (
        "Kremlin confirms North Korean servicemen took part in Kursk operation",
        "MOSCOW, April 28 (Reuters) - The Kremlin on Monday confirmed for the first time "
        "that North Korean servicemen took part in driving Ukrainian forces out of Russia's "
        "Kursk region. Spokesman Dmitry Peskov called their role heroic.",
        {TROOPS},
    ),
    (
        "North Korea shipped 9 million shells to Russia, 11-nation monitoring group says",
        "SEOUL, May 29 (Reuters) - North Korea has shipped at least 9 million rounds of "
        "artillery and rocket ammunition to Russia since late 2023, the Multilateral "
        "Sanctions Monitoring Team (MSMT) said in its first report on Thursday. The group "
        "was set up by 11 countries after Russia vetoed the renewal of a U.N. panel of "
        "experts last year.",
        {UN, WEAPONS},
    ),
    (
        "Zelenskiy urges allies to act over North Korean troops in Russia",
        "KYIV, Nov 5 (Reuters) - Ukrainian President Volodymyr Zelenskiy on Tuesday urged "
        "Western allies to act before North Korean troops deployed in Russia's Kursk region "
        "join the fighting, saying their inaction was encouraging Moscow and Pyongyang.",
        {SUMMIT, TROOPS},
    ),
    (
        "Zelensky urges allies to act over North Korean troops in Russia",
        "KYIV, Nov 5 (Reuters) - Ukrainian President Volodymyr Zelensky on Tuesday urged "
        "Western allies to act before North Korean troops deployed in Russia's Kursk region "
        "join the fighting, saying their inaction was encouraging Moscow and Pyongyang.",
        {SUMMIT, TROOPS},
    ),
    (
        "Shoigu arrives in Pyongyang on Putin's instructions",
        "MOSCOW, June 4 (Reuters) - Russian Security Council Secretary Sergei Shoigu arrived in Pyongyang on Wednesday on the instructions of President Vladimir Putin, his office said. It was his second trip to North Korea in two weeks.",
        {SUMMIT},
    ),
    (
        "Putin receives North Korean foreign minister in Kremlin",
        "MOSCOW, Nov 4 (Reuters) - Russian President Vladimir Putin received North Korean Foreign Minister Choe Son Hui in the Kremlin on Monday, the Kremlin said. They discussed the implementation of agreements reached by Putin and Kim Jong Un in Pyongyang in June.",
        {SUMMIT},
    ),
    (
        "Russia received millions of shells from Kim, Seoul says",
        "SEOUL, March 3 (Reuters) - Russia has received more than 12 million artillery shells from North Korea since 2023, South Korea's spy agency said on Monday. Kim Jong Un's factories are running at full capacity to meet Moscow's orders, it said.",
        {WEAPONS},
    ),
    (
        "New intake from Pyongyang arrives in Kursk",
        "SEOUL (Reuters) - A new intake of about 2,000 North Korean soldiers has arrived in Russia's Kursk region, South Korea's spy agency said on Thursday.",
        {TROOPS},
    ),
    (
        "Russia may supply MiG-29 fighters to North Korea, Seoul says",
        "SEOUL, Nov 22 (Reuters) - Russia may supply North Korea with MiG-29 and Su-27 fighters in return for its support in the war, South Korea's defence minister said on Sunday. Pyongyang's air force relies on ageing Soviet-era jets.",
        {TECH},
    ),
    (
        "North Korean fighters cross into Sumy region, Kyiv says",
        "KYIV, March 2 (Reuters) - North Korean fighters have crossed from Russia's Kursk region into Ukraine's Sumy region, Ukraine's border guard said on Sunday. About 200 of them were seen near the village of Oleshnia.",
        {TROOPS},
    ),
    (
        "North Korea shows off nuclear-powered submarine under construction",
        "SEOUL (AP) - North Korea released photos of what it called a nuclear-powered submarine under construction, as leader Kim Jong Un toured a shipyard and vowed to expand his navy's nuclear capabilities. Experts say the vessel could take years to complete. Pyongyang has grown closer to Moscow since Kim's summit with Russian President Vladimir Putin in 2024.",
        set(),
    ),
    (
        "EU verhängt Einreiseverbote gegen nordkoreanische Generäle wegen Kursk-Einsatz",
        "Brüssel (dpa) - Die EU hat wegen der Entsendung nordkoreanischer Soldaten in die russische Region Kursk restriktive Maßnahmen gegen sechs ranghohe Militärs aus Nordkorea verhängt. Die Generäle dürfen nicht mehr in die EU einreisen, zudem dürfen ihnen keine Gelder mehr zur Verfügung gestellt werden, teilte der Rat in Brüssel mit. Auch ein russischer Vizeverteidigungsminister steht auf der Liste.",
        {UN},
    ),
    (
        "EU adopts restrictive measures over North Korean troops in Russia",
        "BRUSSELS (Reuters) - The European Union on Tuesday adopted restrictive measures against six North Korean generals and a Russian deputy defence minister over the deployment of North Korean troops to Russia's Kursk region. Those listed are banned from travelling to the bloc, and EU citizens may no longer make funds available to them, the Council said.",
        {UN},
    ),
    (
        "U.N. Security Council meets on North Korea-Russia arms transfers",
        "SEOUL, June 30 (Yonhap) -- The U.N. Security Council met Monday at the request of the United States, South Korea and Japan to discuss North Korea's arms transfers to Russia, which the three countries say breach council resolutions. Russia's envoy dismissed the accusations.",
        {UN},
    ),
    (
        "Russland blockiert Erklärung des Sicherheitsrats zu Nordkoreas Raketenstarts",
        "New York (dpa) - Russland hat eine gemeinsame Erklärung des Sicherheitsrats zu den jüngsten Raketenstarts Nordkoreas verhindert. Moskau habe dem von den USA vorgelegten Text nicht zugestimmt, hieß es aus Diplomatenkreisen. Seit Russland und Nordkorea einen Beistandspakt geschlossen haben, stellt sich Moskau in dem Gremium schützend vor Pjöngjang.",
        {UN},
    ),
    (
        "N. Korea received far more Russian oil than UNSC resolutions allow: ministry",
        "SEOUL, March 5 (Yonhap) -- North Korea received far more refined petroleum products from Russia last year than UNSC resolutions allow, South Korea's unification ministry said Wednesday. Tankers loaded at Russia's Vostochny port made dozens of trips to the North's Rajin port, the ministry said in a report to lawmakers.",
        {UN},
    ),
    (
        "S. Korea designates Russian ships, firms involved in N. Korea arms trade",
        "SEOUL, Dec 12 (Yonhap) -- South Korea on Thursday designated four Russian vessels and two Russian shipping firms for unilateral sanctions for their involvement in arms trade between North Korea and Russia, the foreign ministry said. The move is the first of its kind against Russian entities.",
        {UN},
    ),
    (
        "U.N. Security Council holds meeting on N. Korea's troop dispatch to Russia",
        "NEW YORK, Nov 4 (Yonhap) -- The U.N. Security Council held a meeting Monday on North Korea's troop dispatch to Russia at the request of South Korea, the United States and Japan. South Korea's ambassador told the meeting that the deployment was a violation of council resolutions.",
        {UN},
    ),
]

# The ninth round (tuning8.yaml's untouched errors, rewritten here in other words): a missile
# test into the sea that Moscow only comments on, North Korea's own front line, shells named in
# a title without a country, sanctions listings and asset freezes whose German verb comes last,
# a listed tanker, arms factories working for Moscow, munitions shipped to Russia in a title.
NINTH = [
    (
        "North Korea fires new cruise missiles off its east coast; Moscow calls for restraint",
        "SEOUL, May 2 (AP) - North Korea fired several new cruise missiles into the sea off its "
        "east coast on Friday, South Korea's military said. The missiles flew about 1,500 "
        "kilometres before splashing down. In Moscow, a foreign ministry spokeswoman called on "
        "all sides to show restraint and blamed U.S.-South Korean drills for the tension.",
        set(),
    ),
    (
        "Nordkorea verlegt neue Raketenwerfer an die Frontlinie zum Süden",
        "SEOUL (dpa) - Nordkorea will neue Mehrfachraketenwerfer bei Einheiten an der "
        "Frontlinie zu Südkorea stationieren. Machthaber Kim Jong Un habe einen Test der Waffe "
        "beaufsichtigt, meldete die Staatsagentur KCNA. Das System könne den Großraum Seoul "
        "erreichen.",
        set(),
    ),
    (
        "Viele Granaten zünden nicht",
        "TSCHASSIW JAR (dpa) - Russische Artillerie im Osten der Ukraine verschießt nach "
        "Angaben ukrainischer Einheiten vor allem Granaten aus nordkoreanischer Fertigung. "
        "Viele der Geschosse zündeten nicht, sagte ein Offizier. Die Menge gleiche die schlechte "
        "Qualität aber aus.",
        {WEAPONS},
    ),
    (
        "Norway adopts EU listings of North Korean generals",
        "OSLO, Feb 3 (Reuters) - Norway has adopted the European Union's listings of North "
        "Korean generals over their role in the military cooperation with Russia and frozen any "
        "assets they hold in the country, the foreign ministry said.",
        {UN},
    ),
    (
        "Australien friert Konten russischer Reedereien ein",
        "CANBERRA (AFP) - Australien hat die Guthaben von drei russischen Reedereien und einer "
        "nordkoreanischen Handelsfirma eingefroren. Die Firmen hätten Transporte organisiert, "
        "mit denen Nordkorea Russlands Krieg unterstütze, teilte die Regierung mit.",
        {UN},
    ),
    (
        "Gelisteter Frachter erneut in Rajin",
        "SEOUL (Yonhap) - Ein von den USA gelisteter russischer Frachter hat nach Auswertung von "
        "Satellitenbildern erneut im nordkoreanischen Hafen Rajin angelegt. Das Schiff war "
        "zuvor im russischen Wostotschny beladen worden.",
        {UN},
    ),
    (
        "Nordkoreas Waffenfabriken arbeiten rund um die Uhr",
        "SEOUL (dpa) - Nordkoreas Rüstungsbetriebe produzieren nach Angaben des südkoreanischen "
        "Geheimdienstes im Dreischichtbetrieb, um Bestellungen aus Russland zu erfüllen. Die "
        "Werke hätten ihre Produktion von Artilleriegeschossen erweitert; ein Großteil gehe an "
        "die russische Armee.",
        {WEAPONS},
    ),
    (
        "Seoul: Tausende Container mit Granaten nach Russland verschifft",
        "SEOUL (Yonhap) - Nordkorea hat nach Einschätzung des südkoreanischen Militärs seit 2023 "
        "insgesamt mehr als 15.000 Container mit Munition und Waffen nach Russland gebracht. "
        "Der Großteil sei per Schiff über den Hafen Rason transportiert worden.",
        {WEAPONS},
    ),
]

# From the ninth round's white-box probe (probe9.yaml, tuning data), rewritten: civil uses of
# technology words, other states' arms, North Korea's own tests, weapons that go to North
# Korea, a name that is also a weapon, and reactions that name the arms trade as their grounds.
PROBE9 = [
    (
        "Russische Ingenieure bauen Pjöngjangs Wasserwerk aus",
        "PJÖNGJANG (TASS) - Ingenieure aus Russland sollen das größte Wasserwerk der "
        "nordkoreanischen Hauptstadt modernisieren. Die Technologie für die neuen Filter "
        "stamme aus Nowosibirsk, teilte die russische Botschaft mit. Die Arbeiten sollen im "
        "Herbst beginnen.",
        {CONTEXT},
    ),
    (
        "Südkorea liefert Estland weitere Panzerhaubitzen",
        "SEOUL/TALLINN (Reuters) - Der südkoreanische Konzern Hanwha liefert Estland zwölf "
        "weitere K9-Panzerhaubitzen. Die Geschütze wurden zur Abschreckung Nordkoreas "
        "entwickelt und sind seit dem russischen Angriff auf die Ukraine in Europa gefragt.",
        set(),
    ),
    (
        "Nordkorea testet neuen Marschflugkörper",
        "SEOUL (AFP) - Nordkorea hat nach eigenen Angaben einen neuen Marschflugkörper mit "
        "Hyperschall-Gleitflugkörper getestet. Kim Jong Un habe den Test beaufsichtigt. Nur "
        "Russland und China verfügen nach Einschätzung von Fachleuten über solche Waffen.",
        set(),
    ),
    (
        "Moskau übergibt Pjöngjang Kampfhubschrauber",
        "SEOUL (Yonhap) - Russland hat Nordkorea nach Angaben aus Seoul mehrere "
        "Kampfhubschrauber übergeben. Die Maschinen seien per Bahn über die Grenzbrücke "
        "gebracht worden, sagte ein Abgeordneter nach einer Unterrichtung durch den "
        "Geheimdienst. Es wäre die erste Lieferung dieser Art.",
        {TECH},
    ),
    (
        "Russische Touristen im neuen Hwasong-Viertel",
        "PJÖNGJANG (TASS) - Eine Reisegruppe aus Wladiwostok hat das neue Wohnviertel Hwasong "
        "in Pjöngjang besichtigt. Die Reise ist Teil eines Programms, mit dem Russland und "
        "Nordkorea den Tourismus ausbauen wollen.",
        {CONTEXT},
    ),
    (
        "Nato verurteilt Pjöngjangs Waffenhilfe für Moskau",
        "BRÜSSEL (dpa) - Die Nato hat die Lieferungen nordkoreanischer Waffen an Russland "
        "scharf verurteilt. Pjöngjang mache sich zum Komplizen von Russlands Angriffskrieg "
        "gegen die Ukraine, sagte Generalsekretär Mark Rutte. Einzelheiten nannte er nicht.",
        {SUMMIT},
    ),
]

# From the tenth round's white-box probe (probe10.yaml, tuning data), rewritten: another buyer
# of North Korea's arms, a penalty as a sanctions verb, spies as no transfer.
PROBE10 = [
    (
        "Minsk interessiert sich für nordkoreanische Mehrfachraketenwerfer",
        "MINSK (dpa) - Belarus erwägt den Kauf nordkoreanischer Mehrfachraketenwerfer. "
        "Machthaber Alexander Lukaschenko sagte, die Systeme hätten sich im Krieg in der Ukraine "
        "bewährt, wo Russland sie einsetze. Eine Delegation aus Pjöngjang werde erwartet.",
        set(),
    ),
    (
        "London bestraft russische Reedereien wegen Transporten für Pjöngjang",
        "LONDON (dpa) - Großbritannien hat drei russische Reedereien bestraft, die Transporte "
        "zwischen Nordkorea und Russland organisiert haben sollen. Ihre Vermögen im Land "
        "wurden eingefroren, teilte das Außenministerium mit.",
        {UN},
    ),
    (
        "Nordkoreanische Spione bei russischem Raketenbauer enttarnt",
        "MOSKAU (AFP) - Russische Sicherheitsbehörden haben nach Medienberichten zwei "
        "mutmaßliche nordkoreanische Spione bei einem Hersteller von Raketentechnik in "
        "Nischni Nowgorod festgenommen. Sie sollen versucht haben, Baupläne zu stehlen, "
        "meldete die Zeitung Kommersant.",
        set(),
    ),
    (
        "Moskau schickte Pjöngjang dreimal so viel Diesel wie erlaubt",
        "SEOUL (Yonhap) - Russland hat Nordkorea im vergangenen Jahr nach Berechnungen "
        "südkoreanischer Experten dreimal so viel Diesel geliefert, wie nach den Beschlüssen "
        "des Sicherheitsrats erlaubt ist. Die Tanker hätten im Hafen Wostotschny geladen.",
        {UN},
    ),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_topics(REPO / "config" / "topics.yaml", ["default"]))


# Eleventh round (tuning9, a blind set): each case is written here in new words for one rule.
ELEVENTH = [
    (
        "Japan verhängt Sanktionen gegen nordkoreanische Generäle wegen Militärhilfe für Moskau",
        "TOKIO (dpa) - Japan hat wegen der militärischen Zusammenarbeit zwischen Nordkorea und "
        "Russland Sanktionen gegen elf Personen verhängt, darunter drei Generäle. Ihre Konten "
        "werden eingefroren, teilte das Außenministerium in Tokio mit.",
        {UN},  # the ministry announces a listing; no minister meets or condemns anyone
    ),
    (
        "Seoul: Russische Konstrukteure stecken hinter Kims Kamikazedrohnen",
        "SEOUL (AFP) - Die neuen Kamikazedrohnen Nordkoreas gehen nach Einschätzung des "
        "südkoreanischen Geheimdienstes auf russische Baupläne zurück. Moskau habe Pjöngjang "
        "Steuerungstechnik und das Know-how für die Serienfertigung überlassen.",
        {TECH},  # drones in a compound are military, so the know-how is
    ),
    (
        "Satellite photos show new barracks for Pyongyang's men near Vladivostok",
        "SEOUL (NK News) - North Korean personnel are being housed in new barracks at a Russian "
        "training range near Vladivostok, satellite photos show. Analysts said a fresh group "
        "had arrived in Russia for training before being sent to the front.",
        {TROOPS},
    ),
    (
        "Artikel 4 des Vertrags: Was Pjöngjang von Moskau verlangen kann",
        "BERLIN (dpa) - Nach Artikel 4 des Vertrags zwischen Russland und Nordkorea leistet eine "
        "Seite der anderen im Fall eines Angriffs unverzüglich Hilfe. Völkerrechtler streiten, "
        "ob Moskau damit auf der koreanischen Halbinsel eingreifen müsste.",
        {SUMMIT},
    ),
    (
        "Russischer Botschafter in Tokio ins Ministerium zitiert",
        "TOKIO (dpa) - Japan hat wegen der militärischen Zusammenarbeit Russlands mit Nordkorea "
        "den russischen Botschafter einbestellt. Ein Vizeminister forderte ein Ende der "
        "Kooperation mit Pjöngjang.",
        {SUMMIT},  # an envoy summoned is a reaction, whoever summons him
    ),
    (
        "Shoigu receives North Korea's spy chief in Moscow",
        "MOSCOW (Reuters) - Russian Security Council Secretary Sergei Shoigu met North Korea's "
        "intelligence chief in Moscow on Tuesday to discuss cooperation between the two "
        "countries' security services, the council said.",
        {SUMMIT},  # Russia's own security council is not the UN's
    ),
    (
        "North Korea test-fires cruise missiles near Nampo",
        "SEOUL (Yonhap) - North Korea fired several cruise missiles into the Yellow Sea from near "
        "the west coast port of Nampo on Sunday, South Korea's military said. State media said "
        "Kim Jong Un watched the test of a new strategic weapon.",
        set(),  # a launch near a port is a test, not a shipment
    ),
    (
        "Salvenwerfer aus Nordkorea feuern auf Saporischschja",
        "SAPORISCHSCHJA (dpa) - Russische Einheiten beschießen die Region Saporischschja nach "
        "ukrainischen Angaben mit nordkoreanischen Mehrfachraketenwerfern. Zwei Systeme seien "
        "mit Drohnen zerstört worden, teilte die Armee mit.",
        {WEAPONS},  # the Russian units fire them: a weapons title, not a troops report
    ),
    (
        "Kim ehrt Heimkehrer aus dem Gebiet Kursk",
        "PJÖNGJANG (dpa) - Nordkoreas Machthaber Kim Jong Un hat die aus dem russischen Gebiet "
        "Kursk zurückgekehrten Einheiten mit Orden ausgezeichnet. Die Staatsmedien zeigten "
        "Särge gefallener Soldaten.",
        {TROOPS},
    ),
    (
        "Putin schenkt Kim zwei Rennpferde",
        "MOSKAU (dpa) - Kremlchef Wladimir Putin hat Nordkoreas Machthaber Kim Jong Un zwei "
        "Rennpferde geschenkt. Kim hatte die Tiere beim Besuch Putins in Pjöngjang bewundert, "
        "teilte der Kreml mit.",
        {CONTEXT},  # a gift between the leaders is a civil tie, though the title names both
    ),
    (
        "Züge mit Rüstungsgütern rollen über die Grenzbrücke nach Russland",
        "SEOUL (Yonhap) - Über die Eisenbahnbrücke am Tumen rollen fast täglich Güterzüge mit "
        "Rüstungsgütern aus Nordkorea nach Russland, sagen südkoreanische Behörden. "
        "Satellitenbilder zeigten Dutzende beladene Waggons.",
        {WEAPONS},
    ),
    (
        "Taifun trifft Wladiwostok und Nordkoreas Nordosten",
        "WLADIWOSTOK (dpa) - Ein Taifun hat in der russischen Region Primorje und im Nordosten "
        "Nordkoreas schwere Schäden angerichtet. Der Zugverkehr zwischen Wladiwostok und der "
        "nordkoreanischen Grenze wurde eingestellt, Touristen saßen in Hotels fest.",
        set(),  # a storm over both countries is no tie between them
    ),
    (
        "Russische Helfer bauen nach Flut in Nordkorea Brücken wieder auf",
        "PJÖNGJANG (dpa) - Russische Bauarbeiter helfen Nordkorea nach dem Hochwasser beim "
        "Wiederaufbau zerstörter Brücken. Die Hilfslieferungen aus Wladiwostok umfassten auch "
        "Lebensmittel und Zelte, teilte die russische Botschaft in Pjöngjang mit.",
        {CONTEXT},  # aid after a flood is
    ),
]


# The thirteenth round (tuning11): soldiers named by their army or as "Kims Leute", building
# units, a chargé d'affaires summoned, short-range weapons, ethnic Koreans of Russia, a blocked
# council statement, and Kim welcoming his own returning units.
THIRTEENTH = [
    (
        "KPA personnel seen at Russian firing range near Ussuriysk",
        "SEOUL (Yonhap) - More personnel of the Korean People's Army have reached a firing "
        "range in Russia's Far East, South Korea's spy agency told lawmakers, citing imagery "
        "of new barracks there.",
        {TROOPS},
    ),
    (
        "Kims Leute jetzt auch bei Brjansk?",
        "KIEW (dpa) - Ukrainische Grenzschützer wollen Angehörige der Koreanischen Volksarmee "
        "erstmals im russischen Gebiet Brjansk gesehen haben. Moskau schweigt dazu.",
        {TROOPS},
    ),
    (
        "Militärbaueinheiten aus Nordkorea erreichen Kursk",
        "SEOUL (AFP) - Nordkoreanische Militärbaueinheiten sind laut südkoreanischem "
        "Geheimdienst in der russischen Region Kursk angekommen, um Brücken zu reparieren.",
        {TROOPS},
    ),
    (
        "Wien bestellt nordkoreanischen Geschäftsträger ein",
        "WIEN (APA) - Das österreichische Außenministerium hat den nordkoreanischen "
        "Geschäftsträger einbestellt und gegen die Unterstützung Pjöngjangs für Russlands Krieg "
        "gegen die Ukraine protestiert.",
        {SUMMIT},
    ),
    (
        "Odessa: Angriff mit Kurzstreckenwaffen aus Pjöngjang",
        "ODESSA (dpa) - Russland hat die Hafenstadt Odessa nach ukrainischen Angaben mit zwei "
        "Kurzstreckenwaffen aus nordkoreanischer Produktion angegriffen. Zwei Menschen starben.",
        {WEAPONS},
    ),
    (
        "Koreanischstämmiger Soldat aus Sachalin in der Ukraine gefallen",
        "JUSCHNO-SACHALINSK - Ein koreanischstämmiger Vertragssoldat der russischen Armee ist "
        "bei Kämpfen in der Ukraine gefallen. Seine Familie lebt seit Generationen auf der Insel.",
        set(),  # Russia's own citizens of Korean descent
    ),
    (
        "Russia blocks council statement on North Korean soldiers near Kursk",
        "NEW YORK (AP) - Russia blocked a UN Security Council press statement that would have "
        "condemned North Korea's deployment of soldiers near Kursk, diplomats said.",
        {UN},  # the soldiers are the statement's grounds
    ),
    (
        "Kim begrüßt heimgekehrte Einheiten mit Orden",
        "PJÖNGJANG (KCNA) - Machthaber Kim Jong Un hat in Pjöngjang Einheiten empfangen, die im "
        "russischen Gebiet Kursk gekämpft hatten, und Orden verliehen.",
        {TROOPS},  # a leader receiving his own soldiers is no summit
    ),
    # (tuning12: short wire items)
    (
        "Putin empfängt Kim auf dem Kosmodrom Wostotschny",
        "WOSTOTSCHNY (APA) - Kremlchef Wladimir Putin hat Nordkoreas Machthaber Kim Jong Un auf "
        "dem Weltraumbahnhof im Fernen Osten empfangen. Beide besichtigten eine Startrampe.",
        {SUMMIT},  # the cosmodrome is the venue, not a transfer
    ),
    (
        "Kim Dzong Un empfängt Heimkehrer aus Kursk",
        "PJÖNGJANG (APA) - Machthaber Kim Dzong Un hat die aus dem russischen Gebiet Kursk "
        "zurückgekehrten Einheiten empfangen und Gefallene geehrt.",
        {TROOPS},  # the Austrian spelling's "Un" is no UN
    ),
    (
        "Seoul warnt Moskau vor Rüstungshilfe für Pjöngjang",
        "SEOUL (dpa) - Südkoreas Regierung hat Russland davor gewarnt, Nordkorea moderne "
        "Militärtechnologie zu überlassen. Das wäre eine rote Linie, sagte ein Sprecher.",
        {SUMMIT},  # a warning is a reaction; nothing was handed over
    ),
    (
        "Twelve states set up group to watch DPRK violations",
        "Twelve countries set up a group to monitor North Korea's compliance with UN measures, "
        "after Russia's veto ended the expert panel. It will report on arms trade with Moscow.",
        {UN},  # the arms trade is what the group will watch, not a shipment reported
    ),
    (
        "Moscow calls MSMT findings 'lies'",
        "Russia's deputy envoy rejected the Multilateral Sanctions Monitoring Team's report on "
        "oil deliveries as lies. The team had accused Moscow of breaking the cap on Pyongyang.",
        {UN},  # the team watches North Korea's sanctions: it names the country
    ),
    (
        "Generalstabschef der Volksarmee bei russischem Kollegen in Moskau",
        "MOSKAU (Interfax) - Der Chef des Generalstabs der Koreanischen Volksarmee ist in Moskau "
        "mit seinem russischen Kollegen Waleri Gerassimow zusammengetroffen.",
        {SUMMIT},
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    CASES + PROBED + NINTH + PROBE9 + PROBE10 + ELEVENTH + THIRTEENTH,
    ids=[c[0][:40] for c in CASES + PROBED + NINTH + PROBE9 + PROBE10 + ELEVENTH + THIRTEENTH],
)
def test_a_word_with_a_second_meaning_alerts_the_right_topic(
    matcher: Matcher, title: str, text: str, expected: set[str]
) -> None:
    article = Article(Entry("test", None, None, title, "", None), text, True)
    assert {match.topic for match in matcher.match(article)} == expected


@pytest.mark.parametrize(
    "title",
    [
        "Seoul may send arms to Ukraine over North Korean troop deployment, Yoon says",
        "Südkorea erwägt Waffen für die Ukraine wegen nordkoreanischer Truppen",
    ],
)
def test_another_states_arms_for_ukraine_are_no_weapons_for_russia(
    matcher: Matcher, title: str
) -> None:
    text = (
        "SEOUL (Reuters) - South Korea could supply weapons directly to Ukraine, President Yoon "
        "said, after North Korea sent troops and shells to Russia. Seoul has so far sent only "
        "humanitarian aid to Kyiv. The Kremlin warned of a response."
    )
    article = Article(Entry("test", None, None, title, "", None), text, True)
    assert WEAPONS not in {match.topic for match in matcher.match(article)}
