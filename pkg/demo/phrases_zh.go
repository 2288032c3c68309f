package demo

// chinese returns the Chinese phrasing.
func chinese() *language {
	return &language{
		code:  "zh",
		space: "",
		openers: [numTones][]string{
			polite:  {"你好，", "您好，", "您好！", "麻烦问一下，", "打扰一下，", "亲，", "你好，想请教一下，", "早上好，"},
			neutral: {"在吗？", "你好。", "喂，", "客服你好，", "问一下，", "hi，"},
			angry:   {"真的无语了，", "太过分了！", "我很生气，", "你们到底怎么回事？", "气死了，", "这已经不是第一次了，"},
		},
		closers: [numTones][]string{
			polite:  {"谢谢！", "麻烦了，谢谢。", "辛苦了。", "谢谢您。", "多谢！", "期待回复。"},
			neutral: {"尽快回复。", "等你们回复。", "谢谢。", "请尽快处理。", "好的。"},
			angry:   {"今天必须给我答复！", "再不处理我就去投诉平台了。", "太让人失望了。", "赶紧解决！", "以后再也不买了。"},
		},
		followUps: []string{"我之前已经问过一次了，", "这是我第二次来问了，", "上次说会处理，到现在还没结果，",
			"{weekday}已经联系过你们，", "又是我，还是同一个问题，"},
		orderRefs: []string{"订单号{order}。", "单号是{order}。", "我的订单号：{order}。", "（订单{order}）"},
		phone:     []string{"来电记录：", "客户来电称：", "电话：客户说", "通话摘要："},
		subjects:  []string{"订单{order}", "咨询", "求助", "急", "问题"},
		names:     []string{"王女士", "李先生", "张", "小陈", "刘"},
		reasons:   chineseReasons(),
		defects:   chineseDefects(),
	}
}

func chineseReasons() map[string]*bank {
	return map[string]*bank{
		"pre_sale_question": {
			cores: []string{"这个{product}还有货吗？", "{product}什么时候补货？", "{product}的规格是多少？",
				"{product}是什么材质的？", "我平时穿M，选哪个尺码合适？", "{product}和上一款有什么区别？",
				"想买{product}送人，推荐一款吧。", "{product}是正品吗？", "请问{product}有没有货，想要两个。"},
			details: []string{"准备送朋友的。", "下个月要用。"},
			asks:    []string{"麻烦告诉我一下。", "谢谢解答。"},
		},
		"shipping_info": {
			cores: []string{"能送到{city}吗？", "发到{city}几天能到？", "你们发什么快递？", "下单后几天发货？",
				"可以自提吗？", "{city}的配送时效是多久？", "有哪些配送方式？"},
			asks: []string{"想提前了解一下。", "赶时间用。"},
		},
		"shipping_cost": {
			cores: []string{"发到{city}运费多少？", "满多少包邮？", "为什么要收配送费？", "买两件邮费一样吗？",
				"寄到国外要交关税吗？"},
			asks: []string{"谢谢。"},
		},
		"where_is_my_order": {
			implicit: []string{"{product}现在到哪一步了？", "我买的{product}出发了没有？"},
			cores: []string{"我的订单{order}到哪了？", "帮我查一下物流，{product}到哪了？", "订单状态一直显示处理中，发货了吗？",
				"快递单号是多少？想查快递。", "包裹在哪？什么时候到？", "我的{product}什么时候到？",
				"查询订单{order}的物流信息。", "还没收到货，帮忙看看。"},
			details: []string{"{weekday}下的单。", "这两天一直在家。"},
			asks:    []string{"麻烦帮我查一下。", "大概什么时候能收到？"},
		},
		"late_delivery": {
			implicit: []string{"等了快两个星期了，{product}还是没影。"},
			cores: []string{"快递太慢了，{days}天了还没送到。", "说好的三天到，现在一个星期了。", "物流延误了，一直没到。",
				"{product}迟迟不到，怎么回事？", "已经过了预计送达时间，包裹还没到。", "{carrier}太慢了，好几天了都不动。",
				"下单{days}天了怎么还不到？"},
			details: []string{"好几天没有更新了。", "我在{city}。"},
			asks:    []string{"到底什么时候能到？", "麻烦催一下快递。"},
		},
		"damaged_item": {
			implicit: []string{"打开盒子{product}已经成碎片了。"},
			cores: []string{"收到的{product}坏了。", "{product}摔坏了，盒子都变形了。", "{product}碎了，外包装也破了。",
				"{product}有裂痕，是运输时压坏的吧。", "{product}到手就有划痕。", "打开一看{product}漏了。",
				"{product}损坏了，完全没法送人。"},
			details: []string{"我拍了照片。", "快递员放门口的。"},
			asks:    []string{"能补发一个吗？", "怎么处理？"},
		},
		"wrong_or_missing_item": {
			cores: []string{"发错货了，我买的是{product}，收到的是{other}。", "少发了一件{product}。", "尺码不对，我下的是L。",
				"颜色不对，我要的是黑色。", "包裹里少了{product}。", "收到一个空盒。", "这不是我买的东西。"},
			asks: []string{"请尽快补发。", "怎么处理？"},
		},
		"product_quality": {
			implicit: []string{"{product}用第二次就烧了。"},
			cores: []string{"{product}质量太差了，用了两天就坏了。", "{product}开不了机。", "{product}有质量问题。",
				"{product}用了一周就不工作了。", "{product}做工很粗糙。", "{product}洗了一次就掉色。", "{product}跟描述不符，像假货。"},
			asks: []string{"这正常吗？", "你们怎么处理？"},
		},
		"warranty_repair": {
			cores: []string{"{product}保修多久？", "{product}坏了可以维修吗？", "怎么申请维修？", "{product}还在质保期内吗？",
				"{product}可以返修吗？"},
			asks: []string{"流程是怎样的？"},
		},
		"return_request": {
			implicit: []string{"{product}不太适合我，能不能寄给你们？"},
			cores: []string{"我想退货，{product}不合适。", "{product}可以退款吗？", "怎么退货？", "{product}能换货吗？",
				"你们的退货政策是什么？", "七天无理由退货怎么申请？", "{product}想寄回去，地址是哪里？"},
			details: []string{"没拆封。", "买大了。"},
			asks:    []string{"寄回的钱谁承担？", "多久能处理？"},
		},
		"refund_status": {
			implicit: []string{"东西早就寄回去了，钱一直没回来。"},
			cores: []string{"退款什么时候到账？", "退货{days}天了，钱还没退。", "退款进度怎么样了？", "没收到退款。",
				"退款怎么还没有到账？", "已经寄回{product}了，还没退款。"},
			asks: []string{"麻烦查一下。", "还要等多久？"},
		},
		"payment_billing": {
			cores: []string{"账单上多了一笔{amount}，是什么？", "为什么扣款了订单还显示未付？", "银行卡被扣了{amount}，请核实。",
				"付款金额和订单金额不一样。"},
			asks: []string{"请帮我查一下。"},
		},
		"payment_failed": {
			implicit: []string{"每次点最后一步都说稍后再试。"},
			cores: []string{"支付失败，试了好几次。", "付不了款，一直转圈。", "信用卡付款被拒，支付失败。", "无法支付，怎么办？",
				"付款失败，提示系统繁忙。"},
			asks: []string{"怎么才能下单？"},
		},
		"double_charged": {
			cores: []string{"同一个订单扣了两次钱。", "重复扣款了，请退回一笔。", "多扣了我{amount}。", "我被扣款两次。"},
			asks:  []string{"请尽快退回。"},
		},
		"payment_methods": {
			cores: []string{"可以用支付宝吗？", "支持微信支付吗？", "能分期吗？", "支持货到付款吗？", "有哪些付款方式？"},
		},
		"invoice": {
			cores: []string{"订单{order}可以开发票吗？", "需要增值税专用发票。", "电子发票在哪里下载？", "发票抬头开错了。",
				"请给我开一张收据。"},
			asks: []string{"公司报销用。"},
		},
		"account_login": {
			cores: []string{"登录不了。", "忘记密码了，怎么找回？", "收不到验证码。", "账号被锁了，登不上。", "一直提示密码错误，无法登录。"},
			asks:  []string{"怎么办？"},
		},
		"account_management": {
			cores: []string{"怎么注销账号？", "想修改个人信息。", "怎么换绑手机号？", "怎么注册？", "请删除我的账号。"},
		},
		"promotion_coupon": {
			cores: []string{"优惠券{code}用不了。", "优惠码{code}提示无效。", "满减活动没有减。", "积分不见了。",
				"刚买就降价了，能价保吗？", "红包怎么用？"},
			asks: []string{"能帮忙处理一下吗？"},
		},
		"marketing_messages": {
			cores: []string{"怎么退订短信？", "广告短信太多了。", "别再给我发营销短信了。", "取消订阅邮件。"},
		},
		"cancellation": {
			cores: []string{"帮我取消订单{order}。", "不想要了，取消吧。", "{product}拍错了，能撤销订单吗？", "如果没发出的话请取消订单。"},
			asks:  []string{"谢谢。"},
		},
		"order_change": {
			cores: []string{"可以修改订单吗？", "{product}想改尺码。", "能改数量吗？要两个。", "两个订单能合并订单发吗？",
				"想换个颜色，可以吗？"},
		},
		"change_address": {
			cores:   []string{"地址写错了，能改吗？", "帮我修改收货地址。", "要改地址，搬家了。", "收货地址错了，订单{order}。"},
			details: []string{"新地址在{city}。"},
		},
		"website_app_issue": {
			cores: []string{"App一直闪退。", "网站打不开。", "页面加载不出来。", "下单时报错。", "购物车里的东西不见了。",
				"更新后一直白屏。"},
			details: []string{"版本是{app}。"},
		},
		"contact_request": {
			cores: []string{"转人工。", "客服电话是多少？", "怎么联系你们？", "我要找真人。", "在线客服在哪？"},
		},
		"staff_attitude": {
			cores: []string{"客服态度太差了。", "电话里直接挂我电话。", "你们客服很不耐烦。", "刚才那个客服很敷衍。"},
		},
		"suggestion": {
			cores: []string{"建议增加{feature}功能。", "希望能出更多颜色。", "提个意见，包装可以改进。", "最好能选送货时间。"},
		},
		"unclassified": {
			cores: []string{"在吗", "你好", "好的谢谢", "？？", "哦", "知道了"},
		},
	}
}

// chineseDefects are what customers say about the planted defects.
func chineseDefects() map[string]*bank {
	return map[string]*bank{
		defectDamagedSKU: {cores: []string{"{product}又碎了，盒子里一点缓冲都没有。", "收到的{product}把手断了，破损严重。",
			"{product}到手就裂了。", "第二次收到摔坏的{product}了。"}},
		defectCouponFail:     {cores: []string{"优惠码{code}提示无效。", "优惠券{code}用不了，说已过期。", "{code}这个优惠券怎么用不了？"}},
		defectPaymentRelease: {cores: []string{"更新到{app}以后支付失败。", "新版本{app}付不了款。", "升级后一直付款失败。"}},
		defectCarrierDelay: {cores: []string{"{carrier}太慢了，一个星期了还没到。", "{city}这边快递延误，{carrier}一直不动。",
			"{carrier}的包裹迟迟不到。"}},
		defectReturnPolicy: {cores: []string{"退货政策看不懂，到底是7天还是30天？", "退货政策写得很乱，拆封了还能退吗？",
			"看了退货政策还是不知道怎么退。"}},
	}
}
