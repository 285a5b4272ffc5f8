"""The demo catalog: what a small UK shop for outdoor gear, home goods and tea would sell.

Descriptions carry the facts visitors ask the assistant about (material, size, weight, waterproofing,
care), and the stock levels are deliberately uneven: some products are sold out (0) and some are down
to their last few, so "is it in stock?" has interesting answers.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoCategory(NamedTuple):
    code: str
    name: str
    slug: str
    product_class: str
    description: str


class DemoProduct(NamedTuple):
    upc: str
    title: str
    price: str
    stock: int
    description: str
    #: Set where the title is Chinese, so the product URL stays readable ASCII.
    slug: str = ""

    @property
    def category_code(self) -> str:
        return self.upc.split("-")[1]


CATEGORIES: tuple[DemoCategory, ...] = (
    DemoCategory(
        "OUT",
        "Outdoor & Camping",
        "outdoor-camping",
        "Outdoor gear",
        "Tents, sleeping bags, stoves and everything else for a night under the stars.",
    ),
    DemoCategory(
        "FTW", "Footwear", "footwear", "Footwear", "Walking boots, trail shoes and everyday footwear, in UK sizes."
    ),
    DemoCategory("KIT", "Kitchen", "kitchen", "Kitchenware", "Cookware, knives and tools for the home kitchen."),
    DemoCategory("TEA", "Tea", "tea", "Tea", "Loose-leaf tea from China, India and Japan, and the teaware to brew it."),
    DemoCategory("HOM", "Home", "home", "Home goods", "Bedding, lighting and small things that make a house a home."),
    DemoCategory(
        "ELE",
        "Electronics Accessories",
        "electronics-accessories",
        "Electronics accessories",
        "Chargers, cables, power banks and headphones.",
    ),
    DemoCategory("CLO", "Clothing", "clothing", "Clothing", "Outdoor and everyday clothing for all seasons."),
)

PRODUCTS: tuple[DemoProduct, ...] = (
    # Outdoor & Camping
    DemoProduct(
        "MP-OUT-001",
        "Two-Person Backpacking Tent",
        "189.00",
        14,
        "A freestanding two-person tent weighing 1.6 kg packed, with a 3000 mm hydrostatic head "
        "flysheet and aluminium poles. Pitches in under five minutes and packs to 45 x 15 cm.",
    ),
    DemoProduct(
        "MP-OUT-002",
        "Four-Season Sleeping Bag",
        "149.00",
        6,
        "Duck down sleeping bag rated to -10 °C comfort, 1.4 kg, with a water-resistant shell. "
        "Fits people up to 195 cm tall; compression sack included.",
    ),
    DemoProduct(
        "MP-OUT-003",
        "Self-Inflating Sleeping Mat",
        "54.00",
        22,
        "A 5 cm thick self-inflating mat, 183 x 51 cm, R-value 3.8. Weighs 900 g and rolls to "
        "the size of a water bottle.",
    ),
    DemoProduct(
        "MP-OUT-004",
        "Stainless Steel Water Bottle",
        "24.00",
        85,
        "Double-walled vacuum-insulated 750 ml bottle in 18/8 stainless steel: keeps drinks cold "
        "for 24 hours or hot for 12. BPA-free leak-proof lid; dishwasher safe.",
    ),
    DemoProduct(
        "MP-OUT-005",
        "Compact Camping Stove",
        "39.00",
        0,
        "A 78 g titanium gas stove that boils a litre of water in 3.5 minutes. Uses standard "
        "screw-thread gas canisters (not included).",
    ),
    DemoProduct(
        "MP-OUT-006",
        "Headtorch 400 Lumen",
        "29.00",
        40,
        "Rechargeable USB-C headtorch with 400 lumen max output, red night mode and IPX6 "
        "waterproofing. Runs up to 60 hours on low; weighs 86 g.",
    ),
    DemoProduct(
        "MP-OUT-007",
        "Trekking Poles (Pair)",
        "45.00",
        3,
        "Pair of collapsible aluminium trekking poles adjustable from 105 to 135 cm, with cork "
        "grips and tungsten tips. 520 g per pair.",
    ),
    DemoProduct(
        "MP-OUT-008",
        "30L Daypack",
        "65.00",
        18,
        "A 30 litre hiking daypack in recycled ripstop nylon with a ventilated back panel, hip "
        "belt, hydration sleeve and integrated rain cover. Weighs 950 g.",
    ),
    DemoProduct(
        "MP-OUT-009",
        "Camping Cookware Set",
        "35.00",
        2,
        "Hard-anodised aluminium pot, pan and two bowls that nest into one another; fits a "
        "gas canister inside. Total weight 480 g; serves two people.",
    ),
    # Footwear
    DemoProduct(
        "MP-FTW-001",
        "Hiking Boots",
        "135.00",
        12,
        "Waterproof leather hiking boots with a breathable membrane and Vibram outsole. "
        "Available in UK sizes 4-12; 620 g per boot (size 8).",
    ),
    DemoProduct(
        "MP-FTW-002",
        "Trail Running Shoes",
        "110.00",
        9,
        "Lightweight trail running shoes with 5 mm lugs for grip on mud and rock, an 8 mm drop "
        "and a rock plate. UK sizes 5-12; 290 g per shoe. Not waterproof: they drain fast.",
    ),
    DemoProduct(
        "MP-FTW-003",
        "Waterproof Walking Shoes",
        "89.00",
        0,
        "Low-cut walking shoes with a waterproof membrane and suede upper, for paths and light trails. UK sizes 3-11.",
    ),
    DemoProduct(
        "MP-FTW-004",
        "Wool Hiking Socks (3 Pack)",
        "18.00",
        64,
        "Three pairs of merino wool blend hiking socks (70% merino, 27% nylon, 3% elastane) "
        "with cushioned soles. Sizes S (UK 3-5), M (6-8), L (9-12).",
    ),
    DemoProduct(
        "MP-FTW-005",
        "Canvas Sneakers",
        "45.00",
        30,
        "Classic low-top sneakers with an organic cotton canvas upper and natural rubber sole. "
        "Machine washable at 30 °C; UK sizes 3-12.",
    ),
    DemoProduct(
        "MP-FTW-006",
        "Leather Chelsea Boots",
        "120.00",
        1,
        "Chelsea boots in full-grain leather with elastic side panels and a Goodyear-welted "
        "sole that can be resoled. UK sizes 6-11.",
    ),
    DemoProduct(
        "MP-FTW-007",
        "Sheepskin Slippers",
        "55.00",
        25,
        "Genuine sheepskin slippers with a hard-wearing rubber sole for popping outside. "
        "UK sizes 3-11; half sizes should size up.",
    ),
    DemoProduct(
        "MP-FTW-008",
        "跑鞋 Road Running Shoes",
        "95.00",
        16,
        "轻量缓震跑鞋，单只重约240克，透气网面鞋身，适合日常路跑和半程马拉松训练。英码5-12码。",
        slug="road-running-shoes",
    ),
    DemoProduct(
        "MP-FTW-009",
        "Approach Shoes",
        "115.00",
        0,
        "Sticky-rubber approach shoes for scrambling and via ferrata, with a climbing zone at "
        "the toe. Suede upper; UK sizes 5-12.",
    ),
    # Kitchen
    DemoProduct(
        "MP-KIT-001",
        "Cast Iron Skillet 26cm",
        "42.00",
        20,
        "Pre-seasoned cast iron skillet, 26 cm across and 2.6 kg, for hob, oven, induction and "
        "campfire. Hand wash and dry; re-oil after use.",
    ),
    DemoProduct(
        "MP-KIT-002",
        "Chef's Knife 20cm",
        "79.00",
        7,
        "A 20 cm chef's knife forged from German X50CrMoV15 stainless steel with a full tang and "
        "a pakkawood handle. Hand wash only.",
    ),
    DemoProduct(
        "MP-KIT-003",
        "Bamboo Cutting Board",
        "22.00",
        48,
        "Large 45 x 30 cm cutting board made from FSC-certified bamboo, with a juice groove. "
        "Gentle on knives; hand wash.",
    ),
    DemoProduct(
        "MP-KIT-004",
        "Enamel Casserole Dish 4.7L",
        "98.00",
        4,
        "A 4.7 litre enamelled cast iron casserole with a tight lid, oven safe to 250 °C and "
        "suitable for all hobs including induction. Colour: sage green.",
    ),
    DemoProduct(
        "MP-KIT-005",
        "Stainless Steel Saucepan Set",
        "119.00",
        11,
        "Three tri-ply stainless steel saucepans (16, 18 and 20 cm) with glass lids. Induction "
        "compatible and dishwasher safe.",
    ),
    DemoProduct(
        "MP-KIT-006",
        "Digital Kitchen Scale",
        "19.00",
        0,
        "Digital kitchen scale weighing up to 5 kg in 1 g steps, with tare and a liquid mode. "
        "Tempered glass top; two AAA batteries included.",
    ),
    DemoProduct(
        "MP-KIT-007",
        "竹蒸笼 Bamboo Steamer",
        "26.00",
        13,
        "两层竹制蒸笼，直径25厘米，附带盖子，适合蒸饺子、包子和蔬菜。使用后请手洗并晾干。",
        slug="bamboo-steamer",
    ),
    DemoProduct(
        "MP-KIT-008",
        "French Press Coffee Maker",
        "32.00",
        27,
        "A 1 litre French press with a borosilicate glass jug and a stainless steel frame and "
        "filter. Makes eight cups.",
    ),
    DemoProduct(
        "MP-KIT-009",
        "Linen Tea Towels (Set of 2)",
        "16.00",
        55,
        "Two tea towels in stonewashed European linen, 50 x 70 cm, which dry glasses "
        "without lint. Machine washable at 40 °C.",
    ),
    # Tea
    DemoProduct(
        "MP-TEA-001",
        "龙井绿茶 Longjing Green Tea",
        "18.50",
        40,
        "Longjing (Dragon Well) green tea from Hangzhou, pan-fired by hand, 100 g tin. "
        "产自杭州西湖的明前龙井，豆香清雅。Brew at 80 °C for 2 minutes.",
        slug="longjing-green-tea",
    ),
    DemoProduct(
        "MP-TEA-002",
        "铁观音乌龙茶 Tie Guan Yin Oolong",
        "16.00",
        2,
        "安溪铁观音，兰花香浓郁，可冲泡五到七次。100 g of rolled oolong from Anxi, Fujian; brew at 95 °C.",
        slug="tie-guan-yin-oolong",
    ),
    DemoProduct(
        "MP-TEA-003",
        "普洱茶饼 Pu-erh Tea Cake",
        "29.00",
        8,
        "云南熟普洱茶饼357克，2018年压制，口感醇厚顺滑。A 357 g cake of ripe pu-erh from Yunnan, pressed in 2018.",
        slug="pu-erh-tea-cake",
    ),
    DemoProduct(
        "MP-TEA-004",
        "紫砂茶壶",
        "68.00",
        3,
        "宜兴紫砂手工茶壶，容量200毫升，适合冲泡乌龙茶和普洱茶。每把茶壶均为手工制作，花纹略有差异。",
        slug="yixing-clay-teapot",
    ),
    DemoProduct(
        "MP-TEA-005",
        "Ceramic Teapot",
        "34.00",
        19,
        "A 1 litre stoneware teapot with a removable stainless steel infuser, glazed in "
        "speckled white. Dishwasher safe; serves four cups.",
    ),
    DemoProduct(
        "MP-TEA-006",
        "Earl Grey Loose Leaf Tea",
        "9.50",
        70,
        "Black tea from Assam and Ceylon scented with natural bergamot oil, 125 g pouch. "
        "Brew at 100 °C for 3-4 minutes.",
    ),
    DemoProduct(
        "MP-TEA-007",
        "Japanese Sencha",
        "14.00",
        0,
        "First-flush sencha from Shizuoka, steamed for a fresh grassy taste, 80 g tin. Brew at 70 °C for 1 minute.",
    ),
    DemoProduct(
        "MP-TEA-008",
        "青花瓷茶杯 Blue and White Tea Cups (Set of 4)",
        "24.00",
        12,
        "景德镇青花瓷品茗杯四只装，每只容量60毫升。Four hand-painted porcelain cups from Jingdezhen, 60 ml each.",
        slug="blue-and-white-tea-cups",
    ),
    DemoProduct(
        "MP-TEA-009",
        "English Breakfast Tea Bags (80)",
        "6.50",
        120,
        "A strong blend of Assam and Kenyan black teas in 80 plastic-free, compostable tea bags.",
    ),
    # Home
    DemoProduct(
        "MP-HOM-001",
        "Wool Throw Blanket",
        "59.00",
        15,
        "A 130 x 180 cm throw woven in Wales from 100% British lambswool, in a grey herringbone. "
        "Dry clean or hand wash cold.",
    ),
    DemoProduct(
        "MP-HOM-002",
        "Soy Wax Candle",
        "18.00",
        36,
        "Hand-poured soy wax candle scented with cedar and sea salt, in a reusable amber glass "
        "jar. Burns for about 45 hours.",
    ),
    DemoProduct(
        "MP-HOM-003",
        "Linen Duvet Cover (Double)",
        "95.00",
        5,
        "Double duvet cover (200 x 200 cm) in stonewashed French linen, with button "
        "closure. Gets softer with every wash; machine wash at 40 °C.",
    ),
    DemoProduct(
        "MP-HOM-004",
        "丝绸枕套 Mulberry Silk Pillowcase",
        "39.00",
        0,
        "22姆米桑蚕丝枕套，50 x 75 厘米，隐形拉链设计，对皮肤和头发更温和。建议冷水手洗。",
        slug="mulberry-silk-pillowcase",
    ),
    DemoProduct(
        "MP-HOM-005",
        "Ceramic Plant Pot",
        "21.00",
        28,
        "A 15 cm matte glazed ceramic plant pot with a drainage hole and a matching saucer. "
        "Suitable for indoor plants.",
    ),
    DemoProduct(
        "MP-HOM-006",
        "Brass Table Lamp",
        "85.00",
        1,
        "A brushed brass table lamp, 45 cm tall, with a white linen shade. Takes an E27 bulb "
        "(not included); 1.8 m fabric cable.",
    ),
    DemoProduct(
        "MP-HOM-007",
        "Cotton Bath Towels (Set of 2)",
        "34.00",
        42,
        "Two 70 x 130 cm bath towels in 600 gsm organic Turkish cotton. Machine washable at 60 °C.",
    ),
    DemoProduct(
        "MP-HOM-008",
        "Wall Clock",
        "29.00",
        9,
        "A silent-sweep 30 cm wall clock with an oak frame and a white dial. Runs on one AA battery.",
    ),
    DemoProduct(
        "MP-HOM-009",
        "Doormat",
        "25.00",
        17,
        "A 60 x 40 cm coir doormat with a non-slip rubber back. Suitable for covered outdoor porches.",
    ),
    # Electronics Accessories
    DemoProduct(
        "MP-ELE-001",
        "USB-C Charging Cable 2m",
        "12.00",
        150,
        "A 2 metre braided USB-C to USB-C cable supporting 100 W charging and 480 Mbps data. Tested for 10,000 bends.",
    ),
    DemoProduct(
        "MP-ELE-002",
        "Portable Power Bank 20000mAh",
        "45.00",
        10,
        "A 20000 mAh power bank with 65 W USB-C PD, enough to charge a phone four times or a "
        "laptop once. Weighs 420 g; allowed in cabin baggage.",
    ),
    DemoProduct(
        "MP-ELE-003",
        "Wireless Earbuds",
        "79.00",
        0,
        "True wireless earbuds with active noise cancellation, 7 hours playback (28 with the "
        "case) and IPX4 sweat resistance. Bluetooth 5.3.",
    ),
    DemoProduct(
        "MP-ELE-004",
        "无线充电器 Wireless Charging Pad",
        "25.00",
        33,
        "15W快速无线充电板，兼容所有支持Qi标准的手机，附带1米USB-C数据线。Qi-certified 15 W pad.",
        slug="wireless-charging-pad",
    ),
    DemoProduct(
        "MP-ELE-005",
        "Solar Charger 21W",
        "65.00",
        2,
        "A folding 21 W solar panel with two USB-A ports, weighing 520 g. Water-resistant (IPX4) "
        "and clips onto a backpack.",
    ),
    DemoProduct(
        "MP-ELE-006",
        "Bluetooth Speaker",
        "59.00",
        21,
        "A waterproof (IP67) Bluetooth speaker that floats, with 12 hours battery life and a "
        "built-in microphone for calls.",
    ),
    DemoProduct(
        "MP-ELE-007",
        "Travel Adapter",
        "19.00",
        60,
        "A universal travel adapter for UK, EU, US and AU sockets, with two USB-A and one "
        "USB-C port. Not a voltage converter.",
    ),
    DemoProduct(
        "MP-ELE-008",
        "Laptop Sleeve 14 inch",
        "29.00",
        14,
        "A padded laptop sleeve for 13-14 inch laptops in water-resistant recycled felt with "
        "a front pocket for a charger.",
    ),
    DemoProduct(
        "MP-ELE-009",
        "Phone Case",
        "15.00",
        80,
        "A slim shock-absorbing phone case in recycled TPU with raised edges around the "
        "camera. Drop tested to 2 metres.",
    ),
    # Clothing
    DemoProduct(
        "MP-CLO-001",
        "Waterproof Jacket",
        "149.00",
        11,
        "A three-layer waterproof, breathable shell jacket (20,000 mm / 20,000 g), with taped "
        "seams, a helmet-compatible hood and pit zips. Weighs 390 g; sizes XS-XXL.",
    ),
    DemoProduct(
        "MP-CLO-002",
        "Merino Base Layer",
        "55.00",
        26,
        "Long-sleeve base layer in 200 gsm 100% merino wool that stays warm when damp and "
        "resists odour. Sizes XS-XXL; machine wash at 30 °C.",
    ),
    DemoProduct(
        "MP-CLO-003",
        "Fleece Jacket",
        "65.00",
        0,
        "A midweight fleece in recycled polyester with a full zip and two zipped hand pockets. Sizes S-XXL.",
    ),
    DemoProduct(
        "MP-CLO-004",
        "羽绒服 Down Jacket",
        "169.00",
        5,
        "90/10白鸭绒羽绒服，充绒量200克，可收纳进自带口袋，防泼水面料。尺码XS至XXL。",
        slug="down-jacket",
    ),
    DemoProduct(
        "MP-CLO-005",
        "Waterproof Trousers",
        "79.00",
        8,
        "Two-layer waterproof overtrousers with full-length side zips, so they go on over "
        "boots. Packs into its own pocket; sizes S-XXL.",
    ),
    DemoProduct(
        "MP-CLO-006", "Wool Beanie", "22.00", 44, "A ribbed beanie knitted in Scotland from 100% lambswool. One size."
    ),
    DemoProduct(
        "MP-CLO-007",
        "Organic Cotton T-Shirt",
        "25.00",
        90,
        "A classic crew-neck T-shirt in 180 gsm organic cotton, pre-shrunk. Sizes XS-XXL in white, navy and olive.",
    ),
    DemoProduct(
        "MP-CLO-008",
        "Softshell Gloves",
        "28.00",
        3,
        "Windproof softshell gloves with touchscreen-compatible fingertips and a grippy palm. Sizes S-XL.",
    ),
    DemoProduct(
        "MP-CLO-009",
        "Hiking Shorts",
        "42.00",
        23,
        "Quick-drying stretch nylon hiking shorts with UPF 50 sun protection and five pockets. Waist sizes 28-38 inch.",
    ),
)
