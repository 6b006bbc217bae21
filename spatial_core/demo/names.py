# SPDX-License-Identifier: GPL-3.0-or-later
"""Word lists for the demo force: street, town and person names, all invented or common.

Names are built by combining these lists with a seeded permutation, so no list needs to be
long: 300 bases x 16 suffixes x 11 prefixes give over 50,000 distinct street names.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STREET_BASES",
    "STREET_SUFFIXES",
    "STREET_PREFIXES",
    "TOWN_NAMES",
    "FIRST_NAMES",
    "LAST_NAMES",
    "street_names",
    "town_names",
]

STREET_BASES = tuple(
    """
Abbey Acorn Albany Albert Alder Alexandra Allotment Almond Anchor Apple Arden Ash Ashgrove
Aspen Aster Avon Badger Bakers Balmoral Bank Barley Barn Bath Bay Beacon Beech Belgrave
Bell Belmont Birch Blackthorn Bluebell Bramble Brewery Briar Bridge Brook Broom Buckingham
Burns Buttercup Byron Calder Cambridge Canal Carlton Castle Cedar Chapel Chantry Charles
Chatsworth Cherry Chestnut Church Clarence Clover Coach College Coppice Coronation Cotton
Cowslip Crab Croft Cromwell Cross Crown Daisy Dale Dam Darwin Deer Derwent Devon Dove Drake
Dunstan Eden Elder Elm Elmfield Essex Exeter Fairfield Falcon Farm Fern Ferry Field Fir
Forge Fountain Fox Foxglove Friars Furnace Garden Gate George Glebe Gladstone Glen Gordon
Gorse Grange Granville Green Greenwood Grove Hall Hamilton Harbour Harcourt Hareshaw Harrow
Hawthorn Hazel Heath Heather Hedge Highfield Hill Holly Holme Honeysuckle Hope Howard Ivy
James Jubilee Juniper Keats Kent Kestrel King Kingfisher Laburnum Lancaster Larch Laurel
Lavender Lilac Lime Linden Lindley Lister Lodge Longfield Lord Lower Maple Market Marlborough
Marsh Mayfield Meadow Melbourne Mercer Mill Milton Miners Minster Moor Moorland Mortimer
Mulberry Nelson Newlands Norfolk Nursery Oak Oakfield Orchard Osprey Otter Oxford Paddock
Palmer Park Parkside Peel Pennine Percy Pinfold Pine Poplar Portland Primrose Priory Quarry
Queen Raven Rectory Redwood Regent Ridge River Robin Rose Rowan Russell Rydal Saffron
Salisbury Sandown Saxon School Severn Shaftesbury Shelley Sherwood Silver Skylark Smithy
Somerset Sorrel Spencer Spring Spruce Stanley Station Stone Stratford Sunny Sutton Swallow
Swan Sycamore Talbot Tannery Teal Tennyson Thistle Thorn Tower Trinity Tudor Union Vale
Valley Vernon Vicarage Victoria Violet Walnut Warren Water Waverley Weaver Well Wellington
Wentworth Wesley West Westfield Wharf Wheatfield Whinmoor Willow Windermere Windmill Windsor
Wolsey Wood Woodland Wren Yarrow Yew York Ainsley Beverley Clifton Denby Easton Fenwick
Grantley Hartley Ingram Kirkby Langley Marston Norton Oakley Preston Radley Selby Thornley
Wakely Wetherby Yardley Ashworth Bramley Calverley Dewhurst Farnley Gledhill Hepworth
""".split()
)

STREET_SUFFIXES = (
    "Road",
    "Street",
    "Lane",
    "Avenue",
    "Close",
    "Drive",
    "Grove",
    "Crescent",
    "Way",
    "Terrace",
    "Gardens",
    "Place",
    "Court",
    "Mews",
    "Rise",
    "View",
)

STREET_PREFIXES = (
    "",
    "Old ",
    "New ",
    "Upper ",
    "Lower ",
    "North ",
    "South ",
    "East ",
    "West ",
    "Little ",
    "Great ",
)

TOWN_NAMES = (
    "Wexcombe",
    "Brackenfield",
    "Elmsworth",
    "Kingsmere",
    "Ashby Vale",
    "Thornwick",
    "Holmbridge",
    "Larkstone",
    "Redmarsh",
    "Fenbury",
    "Oakhampstead",
    "Cresswold",
    "Maplewick",
    "Stonebeck",
    "Hartsdale",
    "Willowford",
    "Brimsley",
    "Cawthorne Moor",
    "Dunmere",
    "Eastwold",
    "Gorsebrook",
    "Hazelford",
    "Ivybridge Magna",
    "Kettlewell Cross",
    "Longmarsh",
    "Millbeck",
    "Northrop",
    "Pennybridge",
    "Quarrydale",
    "Rookwood",
    "Sallowfield",
    "Tenbury Heath",
    "Upwold",
    "Varley",
    "Whinfell",
    "Yarnbury",
)

FIRST_NAMES = tuple(
    """
Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo Alfie
Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur
Lucas Mohammed Logan David John Peter Michael Paul Andrew Mark Stephen Richard Ahmed Ali
Bilal Hamza Imran Kwame Tunde Emeka Piotr Tomasz Olivia Amelia Isla Ava Emily Isabella Mia
Poppy Ella Lily Evie Grace Sophia Charlotte Freya Daisy Sophie Alice Jessica Ruby Chloe
Sarah Susan Margaret Patricia Linda Elizabeth Jennifer Karen Helen Janet Fatima Aisha Zainab
Amina Priya Anjali Sunita Grace Chioma Ngozi Agnieszka Katarzyna Siobhan Niamh Megan Hannah
""".split()
)

LAST_NAMES = tuple(
    """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen
James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook
Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ahmed
Hussain Ali Kaur Shah Okafor Mensah Kowalski Nowak Fletcher Hudson Holmes Lloyd Barker
""".split()
)


def street_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` street names, distinct while the combinations last, then repeating the cycle.

    Callers pass streets in a spatially coherent order, so a repeated name is about 50,000
    streets away: in another town, as real repeats ("Church Road") are.
    """
    nb, ns, npf = len(STREET_BASES), len(STREET_SUFFIXES), len(STREET_PREFIXES)
    total = nb * ns * npf
    # Unprefixed names first: most real streets have no Old/New/Upper prefix.
    order = np.concatenate([rng.permutation(nb * ns), nb * ns + rng.permutation(total - nb * ns)])
    combo = order[np.arange(n) % total]
    prefix, rest = np.divmod(combo, nb * ns)
    base, suffix = np.divmod(rest, ns)
    parts = (
        np.asarray(STREET_PREFIXES, dtype=object)[prefix]
        + np.asarray(STREET_BASES, dtype=object)[base]
        + " "
        + np.asarray(STREET_SUFFIXES, dtype=object)[suffix]
    )
    return parts.astype(object)


def town_names(n: int) -> list[str]:
    """``n`` invented town names (numbered once the list is used up)."""
    k = len(TOWN_NAMES)
    return [TOWN_NAMES[i % k] + ("" if i < k else f" {i // k + 1}") for i in range(n)]
