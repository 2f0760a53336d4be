"""Everyday phrasings of residents, each with the type the text makes responsible for it.

Written for the benchmark of :func:`jurisdictions.resident.rank`; none is a type name. The
expected type of each was decided by reading the linkage text (the item cited in the comment),
not from the data under test. 群租 goes to 4.2 (see the head of resident_words.yaml: 公安 supervises
消防 and 流动人口 in estates; partitions and beds are 其他妨碍安全疏散的行为).
"""

PHRASINGS: list[tuple[str, str]] = [
    # 4.3: noise at midday / night from renovation, unloading, processing
    ("楼上半夜装修吵得睡不着", "renovation_noise_night"),
    ("中午休息时间隔壁在用电钻打孔", "renovation_noise_night"),
    ("晚上十一点还有人在卸货，哐哐响", "renovation_noise_night"),
    # 4.3: family entertainment, exercise, animals
    ("楼下邻居家的狗整天叫个不停", "household_noise"),
    ("广场舞音响开得太大声了", "household_noise"),
    ("对门天天在家唱K到凌晨一两点", "household_noise"),
    ("过年有人在楼下放鞭炮", "illegal_fireworks"),  # 4.6
    # 3.1 rooftop / ground floor, 3.1 common ground, 3.2 illegal structures and facades
    ("顶楼那户在屋顶上又加盖了一层", "rooftop_ground_floor_construction"),
    ("一楼住户把院子围起来搭了个房间", "rooftop_ground_floor_construction"),
    ("小区里有人私自搭了个铁皮棚子", "illegal_construction"),
    ("有人在小区空地上圈地盖房子", "common_ground_construction"),
    ("一楼住户在外墙上凿了个门出来", "facade_alteration"),
    ("住宅楼里开了个小饭馆做生意", "change_of_building_use"),  # 3.4
    # 2.2 / 2.3 housing and construction bureau
    ("楼下装修把承重墙砸掉了", "load_bearing_alteration"),
    ("邻居把阳台改成了卫生间", "wet_room_conversion"),
    ("有人把外墙的保温层拆掉了", "energy_saving_damage"),
    ("邻居自己把燃气管道挪了位置", "heating_gas_pipe_alteration"),  # 2.5
    # 群租 (4.2, see the module docstring)
    ("隔壁房子被二房东隔成十几间出租", "evacuation_route_blocked"),
    ("对面一套房子住了二十几个人，是群租", "evacuation_route_blocked"),
    ("群租房的人在楼道里堆东西、给电瓶车充电", "evacuation_route_blocked"),
    # 4.2 evacuation and fire lanes, 4.1 fire equipment and hydrants, 4.5 hazardous goods
    ("楼梯间堆满了杂物和电动车", "evacuation_route_blocked"),
    ("安全出口的门被锁死了", "evacuation_route_blocked"),
    ("消防通道上停满了私家车", "fire_lane_blocked"),
    ("灭火器被人拿走了，消防箱是空的", "fire_equipment_damage"),
    ("消防栓被砌在花坛里面看不见了", "fire_hydrant_obstruction"),
    ("邻居家里囤了好多桶汽油", "hazardous_materials_storage"),
    # 1.5 renovation taking shared space
    ("装修材料把整个走廊都占了，扶手也弄坏了", "renovation_encroachment"),
    # 三（二） property services; 1.6 developer warranty
    ("楼道里的水管爆了，水流了一地", "common_water_leak"),
    ("顶楼每逢下雨天花板就渗水", "roof_facade_defect"),
    ("外墙的瓷砖往下掉，差点砸到人", "roof_facade_defect"),
    ("刚交房半年墙面就开裂，开发商不来修", "developer_warranty_default"),
    ("小区下水道堵了，污水都冒出来了", "drainage_blockage"),
    ("车子乱停把小区的路都堵死了", "estate_parking_order"),
    ("楼道灯坏了，晚上黑漆漆的", "estate_lighting_out"),
    ("小区门禁坏了谁都能进来", "entrance_access_control_broken"),
    ("保安晚上不巡逻，门卫也经常不在", "security_gatekeeping"),
    ("物业什么都不管，打电话也没人理", "property_service_quality"),
    ("小区里的健身器材坏了好久", "common_facility_repair"),
    ("草长得比人还高也没人割", "greenery_upkeep"),
    ("垃圾桶满出来好几天没人清", "common_area_cleaning"),
    ("地下室里老鼠特别多", "pest_control"),
    ("物业突然撤走了，小区没人管了", "property_company_withdrawal"),  # 1.1
    # 4.5 heavy vehicles; 3.5 lawns to parking; 3.6 trees; 3.3 ads; 3.7 dumping, vending
    ("小区里停着一辆大油罐车", "heavy_vehicle_parking"),
    ("有人把草坪铲了改成停车位", "green_space_conversion"),
    ("有人把小区里的大树砍了", "tree_greenery_damage"),
    ("单元门口贴满了开锁小广告", "posted_ads_graffiti"),
    ("有人把装修的碎砖头倒在路边", "construction_waste_dumping"),
    ("小区门口有人摆摊卖菜", "street_vending"),
    # 8.2–8.5 lifts (market regulation), 三（二） lift out of service
    ("电梯卡在两层中间，里面有人出不来", "lift_entrapment"),
    ("我被关在电梯里了", "lift_entrapment"),
    ("电梯坏了好几天都没人修", "lift_out_of_service"),
    ("电梯运行的时候晃得厉害还有怪声", "lift_safety_hazard"),
    ("电梯里的检验合格证早就过期了", "lift_inspection_overdue"),
    ("电梯好几个月没见有人来保养", "lift_maintenance_irregular"),
    # （十一） utilities
    ("家里突然没水了", "water_outage"),
    ("整栋楼都停电了", "power_outage"),
    ("厨房里一股煤气味", "gas_leak_smell"),
    ("燃气灶打不着火，好像停气了", "gas_outage"),
    ("水龙头里流出来的水是黄的", "water_quality_poor"),
    ("住高层水压太小，洗澡都不出水", "water_pressure_low"),
    ("暖气片一直是冰凉的", "heating_outage"),
    ("家里的网断了一整天", "broadband_outage"),
    ("在家里手机一点信号都没有", "telecom_outage"),
    ("电表走得特别快", "meter_irregularity"),  # 8.1
    # 7.x prices; 1.2 / 1.4 funds and shared parts
    ("物业费今年一下涨了一倍", "fee_above_guidance_price"),
    ("物业的收费标准从来不公示", "fee_not_displayed"),
    ("同一笔费用物业收了两次", "disguised_fee_increase"),
    ("不买物业指定的服务就不让装修", "forced_service_fee"),
    ("开发商把我们的维修基金拿去用了", "maintenance_fund_misuse"),
    ("物业私自把架空层租出去收钱", "common_property_disposal"),
    # 4.4, 4.7 public security; 6.1, 6.2 environment; 8.7 licences
    ("夜里有人撬车偷电瓶", "theft_robbery"),
    ("楼下有人在打架", "public_order_fight_gambling"),
    ("有人在车库里聚众赌钱", "public_order_fight_gambling"),
    ("有人故意划了我的车", "property_damage"),
    ("有人在小区里拉人头搞传销", "pyramid_selling"),
    ("楼顶装了个信号发射塔", "radiation_installation"),
    ("有个厂往河里排污水", "ecological_damage"),
    ("小区里有家黑作坊没有营业执照", "unapproved_business_activity"),
]
