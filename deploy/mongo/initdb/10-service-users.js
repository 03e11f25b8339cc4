// Runs once, when the mongo container initialises an empty data volume (the image's
// /docker-entrypoint-initdb.d mechanism, executed by mongosh before mongod is restarted with
// --replSet and --keyFile). Later changes of the passwords in .env are NOT applied: rotate
// with db.getSiblingDB("admin").changeUserPassword(user, password) (docs/operations.md).
//
// One application user per service, defined in the admin database (hence
// authSource=admin in the services' URIs), with readWrite on that service's own database
// only: a service cannot read or change another service's data.
const services = ["contacts", "feedback", "loyalty", "offboarding", "insights"];
const admin = db.getSiblingDB("admin");

for (const service of services) {
  const variable = `MONGO_${service.toUpperCase()}_PASSWORD`;
  const password = process.env[variable];
  if (!password) {
    throw new Error(`${variable} is not set: cannot create the crm_${service} user`);
  }
  const user = `crm_${service}`;
  const roles = [{ role: "readWrite", db: `crm_${service}` }];
  if (admin.getUser(user) === null) {
    admin.createUser({ user: user, pwd: password, roles: roles });
    print(`created MongoDB user ${user} (readWrite on crm_${service})`);
  } else {
    admin.updateUser(user, { pwd: password, roles: roles });
    print(`updated MongoDB user ${user}`);
  }
}
