package demo

// nameGroup is one strand of the borough's population: the first names and
// surnames its households draw from, how common it is, and which preferred
// languages (other than "en") its residents sometimes give.
type nameGroup struct {
	weight int // relative share of households
	male   []string
	female []string
	// surnames: "Kowalski|Kowalska" gives the masculine and feminine forms
	// of a gendered surname; a plain entry is used for everyone.
	surnames []string
	langs    []langShare
}

// langShare is the chance, in per mille, that a resident of a group prefers
// the language code.
type langShare struct {
	code     string
	perMille int
}

// nameGroups is a fictional but recognisable mix for an inner-London
// borough. Every entry is a common given name or surname; combined at random
// they describe nobody in particular.
var nameGroups = []nameGroup{
	{ // English and general British
		weight: 380,
		male: []string{
			"David", "John", "Paul", "Michael", "Peter", "Brian", "Keith", "Ian",
			"Graham", "Stephen", "Mark", "Andrew", "Christopher", "Daniel", "James",
			"Thomas", "William", "Joseph", "Samuel", "Benjamin", "Matthew", "Oliver",
			"Jack", "Harry", "George", "Alfie", "Charlie", "Tom", "Ben", "Luke",
			"Adam", "Nathan", "Richard", "Robert", "Simon", "Gary", "Stuart", "Noah",
		},
		female: []string{
			"Margaret", "Jean", "Susan", "Jennifer", "Barbara", "Dorothy", "Pauline",
			"Sarah", "Emma", "Rebecca", "Hannah", "Laura", "Rachel", "Gemma", "Karen",
			"Claire", "Amelia", "Olivia", "Charlotte", "Sophie", "Jessica", "Lucy",
			"Zoë", "Chloë", "Renée", "Poppy", "Freya", "Ellie", "Isabel", "Grace",
			"Alice", "Ruth", "Helen", "Natalie", "Abigail", "Jade", "Amy", "Ava",
		},
		surnames: []string{
			"Smith", "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Wright",
			"Walker", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green",
			"Hall", "Wood", "Harris", "Clarke", "Jackson", "Turner", "Hill", "Moore",
			"Cooper", "Ward", "Baker", "Bennett", "Cox", "Fisher", "Marsh",
			"Holloway", "Pemberton", "Ashworth", "Harding-Lowe", "Bell-Murray",
			"Fairweather", "Whitlock", "Lockwood", "Day", "Shaw", "Palmer",
		},
	},
	{ // Irish
		weight: 70,
		male: []string{
			"Seán", "Ciarán", "Patrick", "Declan", "Eoin", "Niall", "Cormac", "Liam",
			"Conor", "Fergal", "Dermot", "Pádraig",
		},
		female: []string{
			"Aoife", "Niamh", "Róisín", "Siobhán", "Orla", "Máire", "Caoimhe",
			"Saoirse", "Bríd", "Grainne", "Clodagh", "Deirdre",
		},
		surnames: []string{
			"O'Brien", "O'Connor", "Murphy", "Kelly", "Byrne", "Ryan", "Walsh",
			"O'Sullivan", "McCarthy", "Doyle", "O'Neill", "Fitzgerald", "Quinn",
			"Ó Briain", "Gallagher", "Kavanagh",
		},
	},
	{ // Scottish
		weight: 40,
		male: []string{
			"Hamish", "Callum", "Fraser", "Ruaridh", "Alasdair", "Angus", "Euan",
			"Gregor", "Struan", "Finlay",
		},
		female: []string{
			"Iona", "Kirsty", "Eilidh", "Isla", "Morag", "Mhairi", "Catriona",
			"Ailsa", "Shona", "Fiona",
		},
		surnames: []string{
			"MacDonald", "Campbell", "Stewart", "Robertson", "Fraser", "McLeod",
			"Murray", "Mackenzie", "Sinclair", "Ross", "Maclean", "Drummond",
		},
	},
	{ // Welsh
		weight: 30,
		male: []string{
			"Dafydd", "Rhys", "Gethin", "Iolo", "Emyr", "Gareth", "Owain", "Huw",
			"Ieuan", "Aled",
		},
		female: []string{
			"Siân", "Rhiannon", "Cerys", "Llinos", "Angharad", "Bethan", "Eleri",
			"Gwen", "Nia", "Ffion",
		},
		surnames: []string{
			"Jones", "Davies", "Evans", "Williams", "Thomas", "Roberts", "Lewis",
			"Morgan", "Griffiths", "Llewellyn", "Pritchard", "Prosser", "Vaughan",
			"ap Rhys",
		},
		langs: []langShare{{"cy", 300}},
	},
	{ // Caribbean heritage
		weight: 100,
		male: []string{
			"Delroy", "Winston", "Errol", "Leon", "Jermaine", "Marcus", "Dwayne",
			"Tyrone", "Clive", "Andre", "Kareem", "Desmond",
		},
		female: []string{
			"Marcia", "Claudette", "Shanice", "Beverley", "Paulette", "Jasmine",
			"Monique", "Hyacinth", "Tanisha", "Yvonne", "Keisha", "Simone",
		},
		surnames: []string{
			"Campbell", "Clarke", "Brown", "Williams", "Francis", "Bailey",
			"Thompson", "Reid", "Grant", "Forbes", "McKenzie", "Samuels", "Gayle",
			"Henry", "Beckford", "Richards", "Lindo", "Powell",
		},
	},
	{ // West African heritage
		weight: 80,
		male: []string{
			"Chidi", "Emeka", "Oluwaseun", "Adebayo", "Kwame", "Kofi", "Yaw",
			"Tunde", "Obinna", "Kwabena", "Femi", "Ikenna",
		},
		female: []string{
			"Ngozi", "Folake", "Chiamaka", "Temitope", "Ama", "Abena", "Efua",
			"Adaeze", "Yetunde", "Akosua", "Funmilayo", "Kemi",
		},
		surnames: []string{
			"Okafor", "Adeyemi", "Okonkwo", "Mensah", "Boateng", "Asante",
			"Oyelaran", "Nwosu", "Eze", "Owusu", "Ogunleye", "Danso", "Osei",
			"Adjei", "Olawale", "Achebe",
		},
	},
	{ // Somali heritage
		weight: 30,
		male: []string{
			"Abdi", "Mohamed", "Abdirahman", "Warsame", "Hassan", "Ibrahim",
			"Mahad", "Yasin",
		},
		female: []string{
			"Hodan", "Faadumo", "Ayaan", "Hibo", "Sahra", "Ifrah", "Nimco",
			"Ubah",
		},
		surnames: []string{
			"Abdi", "Warsame", "Farah", "Hassan", "Jama", "Mohamed", "Osman",
			"Ali", "Yusuf", "Egal", "Nur", "Duale",
		},
		langs: []langShare{{"so", 400}},
	},
	{ // Indian and Punjabi heritage
		weight: 50,
		male: []string{
			"Harpreet", "Gurpreet", "Manjit", "Rajinder", "Arjun", "Rohan",
			"Sunil", "Vikram", "Amrit", "Jaswinder", "Nikhil", "Sanjay",
		},
		female: []string{
			"Simran", "Jaspreet", "Priya", "Anjali", "Deepa", "Kiran", "Navneet",
			"Meera", "Sunita", "Pooja", "Harleen", "Asha",
		},
		surnames: []string{
			"Singh", "Kaur", "Sandhu", "Gill", "Dhillon", "Sidhu", "Patel",
			"Sharma", "Gupta", "Shah", "Mistry", "Joshi", "Bains", "Chopra",
		},
		langs: []langShare{{"pa", 200}},
	},
	{ // Pakistani heritage
		weight: 30,
		male: []string{
			"Imran", "Bilal", "Usman", "Hamza", "Tariq", "Asif", "Zeeshan",
			"Faisal",
		},
		female: []string{
			"Ayesha", "Fatima", "Sana", "Zainab", "Nadia", "Sadia", "Rabia",
			"Mehwish",
		},
		surnames: []string{
			"Khan", "Hussain", "Akhtar", "Iqbal", "Malik", "Qureshi", "Butt",
			"Raza", "Chaudhry", "Mahmood",
		},
		langs: []langShare{{"pa", 100}},
	},
	{ // Bangladeshi heritage
		weight: 30,
		male: []string{
			"Abdul", "Rahim", "Rashed", "Jamal", "Shafiq", "Anwar", "Kamrul",
			"Tanvir",
		},
		female: []string{
			"Nusrat", "Tahmina", "Shahana", "Farhana", "Rokeya", "Sharmin",
			"Jahanara", "Ruksana",
		},
		surnames: []string{
			"Rahman", "Begum", "Uddin", "Ahmed", "Miah", "Hossain", "Islam",
			"Chowdhury", "Ali", "Khatun",
		},
		langs: []langShare{{"bn", 350}},
	},
	{ // Polish
		weight: 50,
		male: []string{
			"Łukasz", "Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał",
			"Wojciech", "Marek", "Grzegorz", "Jakub",
		},
		female: []string{
			"Katarzyna", "Agnieszka", "Małgorzata", "Joanna", "Magdalena", "Zofia",
			"Ewa", "Anna", "Aleksandra", "Beata",
		},
		surnames: []string{
			"Kowalski|Kowalska", "Nowak", "Wiśniewski|Wiśniewska", "Wójcik",
			"Kamiński|Kamińska", "Lewandowski|Lewandowska", "Zieliński|Zielińska",
			"Dąbrowski|Dąbrowska", "Szymański|Szymańska", "Woźniak",
			"Kozłowski|Kozłowska", "Mazur", "Krawczyk",
		},
		langs: []langShare{{"pl", 450}},
	},
	{ // Portuguese and Brazilian
		weight: 40,
		male: []string{
			"João", "José", "Tiago", "Gonçalo", "Rafael", "Luís", "Rui", "Miguel",
		},
		female: []string{
			"Maria", "Ana", "Inês", "Beatriz", "Mariana", "Conceição", "Fernanda",
			"Leonor",
		},
		surnames: []string{
			"Silva", "Santos", "Ferreira", "Pereira", "Gonçalves", "Rodrigues",
			"da Costa", "Fernandes", "Sousa", "Carvalho", "de Oliveira", "Araújo",
		},
		langs: []langShare{{"pt", 400}},
	},
	{ // Spanish and Latin American
		weight: 20,
		male: []string{
			"Alejandro", "Javier", "Andrés", "Diego", "Sergio", "Mateo",
		},
		female: []string{
			"Lucía", "Sofía", "Camila", "Valentina", "Carmen", "Paula",
		},
		surnames: []string{
			"Nuñez", "García", "Martínez", "López", "Hernández", "Gómez",
			"Muñoz", "Ramírez", "Ortega", "Castillo",
		},
	},
	{ // Turkish and Kurdish heritage
		weight: 30,
		male: []string{
			"Mehmet", "Emre", "Hüseyin", "Murat", "Can", "Mustafa", "Serkan",
			"Barış",
		},
		female: []string{
			"Ayşe", "Elif", "Zeynep", "Gülsen", "Özlem", "Emine", "Derya", "Hatice",
		},
		surnames: []string{
			"Yılmaz", "Öztürk", "Şahin", "Demir", "Çelik", "Kaya", "Aydın",
			"Arslan", "Doğan", "Koç",
		},
	},
	{ // Chinese and Vietnamese heritage
		weight: 20,
		male: []string{
			"Wei", "Jun", "Hao", "Ming", "Minh", "Tuan",
		},
		female: []string{
			"Mei", "Li Na", "Xin", "Ying", "Linh", "Thuy",
		},
		surnames: []string{
			"Chen", "Wang", "Li", "Zhang", "Liu", "Nguyen", "Tran", "Wong", "Lam",
			"Pham",
		},
	},
}
