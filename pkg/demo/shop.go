package demo

// The demo shop: what it sells, where from, how it ships and how customers
// pay. Names are chosen to hold no keyword of the default taxonomy, so the
// reason of a contact comes from what the customer says, not from the
// product it is about.

// shop holds the shop's tables. It is built once per Generator and never
// changed.
type shop struct {
	products       []product
	regions        []region
	warehouses     map[string]string
	paymentMethods []paymentMethod
	promoCodes     []string
	platforms      []platform
	appVersions    []string
	staff          []string
	campaigns      []string
	pages          []string
	features       []string
	returnDetails  []string
}

// product is one SKU of the shop.
type product struct {
	SKU      string
	Name     string // English name, as customers write it
	NameZH   string // Chinese name
	Category string
	Price    float64
	Weight   float64 // relative popularity
	Supplier string
}

// region is where a customer lives; each has its carriers and cities.
type region struct {
	Code     string
	Weight   float64
	Carriers []string
	Cities   []string
	CitiesZH []string
}

// platform is where a customer orders from.
type platform struct {
	Code   string
	Weight float64
}

// paymentMethod is how an order was paid.
type paymentMethod struct {
	Code   string
	Name   string
	NameZH string
	Weight float64
}

// defaultShop returns the demo shop.
func defaultShop() *shop {
	return &shop{
		products: []product{
			{"KIT-MUG-330", "ceramic mug", "陶瓷马克杯", "kitchen", 12.90, 3, "Lindqvist Ceramics"},
			{"KIT-KETTLE-17", "glass kettle", "玻璃电热水壶", "kitchen", 39.00, 2, "Hearth Appliances"},
			{"KIT-BLEND-600", "blender", "破壁料理机", "kitchen", 89.00, 1.5, "Hearth Appliances"},
			{"KIT-PAN-28", "non-stick frying pan", "不粘煎锅", "kitchen", 34.50, 2, "Forge and Co"},
			{"KIT-KNIFE-SET", "knife set", "刀具套装", "kitchen", 59.00, 1, "Forge and Co"},
			{"KIT-BOTTLE-500", "insulated bottle", "保温杯", "kitchen", 24.00, 3, "Polar Goods"},
			{"HOM-LAMP-DESK", "desk lamp", "台灯", "home", 45.00, 1.5, "Lumen Works"},
			{"HOM-VASE-GLS", "glass vase", "玻璃花瓶", "home", 29.00, 1, "Lindqvist Ceramics"},
			{"HOM-TOWEL-SET", "bath towel set", "浴巾套装", "home", 32.00, 2, "Cotton Field"},
			{"HOM-PILLOW-2", "memory foam pillow", "记忆棉枕头", "home", 49.00, 1.5, "Cotton Field"},
			{"HOM-DIFF-01", "aroma diffuser", "香薰机", "home", 27.00, 1, "Lumen Works"},
			{"HOM-FRAME-A4", "photo frame", "相框", "home", 15.00, 1, "Lindqvist Ceramics"},
			{"ELE-BUDS-X2", "wireless earbuds", "无线蓝牙耳机", "electronics", 79.00, 3, "Sonic Lab"},
			{"ELE-SPK-MINI", "mini speaker", "迷你音箱", "electronics", 49.00, 1.5, "Sonic Lab"},
			{"ELE-PWR-10K", "power bank", "充电宝", "electronics", 29.00, 2.5, "Voltix"},
			{"ELE-CBL-USBC", "USB-C cable", "Type-C数据线", "electronics", 9.90, 3, "Voltix"},
			{"ELE-WATCH-S3", "smartwatch", "智能手表", "electronics", 149.00, 1.5, "Pulse Devices"},
			{"ELE-KBD-MECH", "mechanical keyboard", "机械键盘", "electronics", 99.00, 1, "Keyforge"},
			{"ELE-MOUSE-W", "wireless mouse", "无线鼠标", "electronics", 25.00, 2, "Keyforge"},
			{"FAS-TEE-CTN", "cotton t-shirt", "纯棉T恤", "fashion", 19.00, 3, "Cotton Field"},
			{"FAS-JKT-RAIN", "rain jacket", "防水夹克", "fashion", 79.00, 1.5, "Northbound"},
			{"FAS-SNK-RUN", "running shoes", "跑鞋", "fashion", 89.00, 2.5, "Stride"},
			{"FAS-BAG-TOTE", "canvas tote bag", "帆布包", "fashion", 22.00, 2, "Northbound"},
			{"FAS-SCARF-WL", "wool scarf", "羊毛围巾", "fashion", 35.00, 1, "Northbound"},
			{"FAS-SOCK-5P", "socks (5 pairs)", "袜子五双装", "fashion", 14.00, 2.5, "Stride"},
			{"BTY-SERUM-30", "face serum", "精华液", "beauty", 42.00, 2, "Glow Lab"},
			{"BTY-CREAM-50", "hand cream", "护手霜", "beauty", 12.00, 2, "Glow Lab"},
			{"BTY-DRYER-PRO", "hair dryer", "吹风机", "beauty", 69.00, 1, "Hearth Appliances"},
			{"TOY-BLOCKS-100", "building blocks set", "积木套装", "toys", 39.00, 1.5, "Playwell"},
			{"TOY-PUZZLE-1K", "1000-piece puzzle", "一千片拼图", "toys", 19.00, 1, "Playwell"},
			{"SPT-YOGA-MAT", "yoga mat", "瑜伽垫", "sport", 29.00, 2, "Stride"},
			{"SPT-DUMB-5KG", "dumbbell pair", "哑铃一对", "sport", 45.00, 1, "Forge and Co"},
		},
		regions: []region{
			{"north", 0.22, []string{"SwiftShip", "Parcelo"}, []string{"Leeds", "Newcastle", "York"}, []string{"北京", "天津", "沈阳"}},
			{"south", 0.28, []string{"Parcelo", "RoadRunner Express"}, []string{"Brighton", "Southampton", "Portsmouth"}, []string{"广州", "深圳", "厦门"}},
			{"east", 0.2, []string{"SwiftShip", "RoadRunner Express"}, []string{"Norwich", "Cambridge", "Ipswich"}, []string{"上海", "杭州", "南京"}},
			{"west", 0.18, []string{"Parcelo", "Westway Couriers"}, []string{"Bristol", "Cardiff", "Exeter"}, []string{"成都", "重庆", "西安"}},
			{"central", 0.12, []string{"SwiftShip", "Westway Couriers"}, []string{"Birmingham", "Leicester", "Nottingham"}, []string{"武汉", "郑州", "长沙"}},
		},
		// warehouses ship orders; each region is served mostly by one.
		warehouses: map[string]string{
			"north": "WH-MAN", "south": "WH-SOU", "east": "WH-MAN", "west": "WH-BRS", "central": "WH-BRS",
		},
		paymentMethods: []paymentMethod{
			{"credit_card", "credit card", "信用卡", 0.45},
			{"paypal", "PayPal", "PayPal", 0.2},
			{"apple_pay", "Apple Pay", "Apple Pay", 0.12},
			{"alipay", "Alipay", "支付宝", 0.13},
			{"wechat_pay", "WeChat Pay", "微信", 0.1},
		},
		// promoCodes are the everyday codes; planted defects add their own.
		promoCodes: []string{"WELCOME10", "FREESHIP", "VIP15", "BUNDLE5", "STUDENT10"},
		// platforms customers order from; orders from the apps carry an app version.
		platforms: []platform{{"web", 0.45}, {"ios", 0.3}, {"android", 0.25}},
		// appVersions is the release history: index 0 before the planted release,
		// 1 the release itself (its payment bug), 2 the hotfix.
		appVersions: []string{"5.1.3", "5.2.0", "5.2.1"},
		// staff are agents named in complaints about attitude.
		staff: []string{"agent-014", "agent-027", "agent-033", "agent-041", "agent-052"},
		// campaigns that marketing messages and coupons belong to.
		campaigns: []string{"spring-sale", "newsletter-weekly", "app-push-promo", "loyalty-club"},
		// pages of the web shop named in website problems.
		pages: []string{"/checkout", "/cart", "/account/orders", "/search", "/product"},
		// features suggested by customers.
		features: []string{"wishlist", "dark-mode", "gift-wrap", "order-history-export", "size-filter"},
		// returnDetails says why items come back.
		returnDetails: []string{"changed_mind", "too_small", "too_large", "not_as_expected", "arrived_too_late", "duplicate_order"},
	}
}
